"""robocopy has no `--`: an exclude pattern that starts with '/' would be one of its options
(`/PURGE`), so it is refused with a line naming the option."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.robocopy.command import RobocopyOptions, build_command


@pytest.mark.parametrize(("option", "pattern"), [("exclude_dirs", "/PURGE"),
                                                 ("exclude_files", "/MOV")])
def test_an_exclude_pattern_that_is_an_option_is_refused(option: str, pattern: str) -> None:
    # Given a mirror's exclude pattern that robocopy would read as an option
    options = RobocopyOptions(source="Z:\\photos", destination="\\\\NAS\\backup",
                              **{option: (pattern,)})
    # When the command is built / Then it is refused, naming the option and the pattern
    with pytest.raises(ConfigError, match=f"{option}: '{pattern}' starts with '/'"):
        build_command(options)
