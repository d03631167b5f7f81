"""The `{user}` layout token: the first folder of a file's source path (a Nextcloud user)."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.media.layout import layout_path, validate_layout


def test_user_is_the_first_folder_of_the_source_path() -> None:
    # Given a nextcloud source's file (its rel_path starts with its user)
    rel = "alice/files/InstantUpload/Camera/IMG_1.jpg"
    # When placed under a layout that keeps users apart / Then the user leads its path
    assert layout_path("{user}/{name}", rel, "nc", None) == "alice/IMG_1.jpg"
    assert layout_path("{user}/{source}/{stem}.{ext}", rel, "nc", None) == "alice/nc/IMG_1.jpg"


def test_a_file_at_the_top_has_no_user_folder() -> None:
    # Given a file with no folder / When placed / Then the empty token adds no folder
    assert layout_path("{user}/{name}", "IMG_1.jpg", "inbox", None) == "IMG_1.jpg"


def test_user_is_an_accepted_placeholder() -> None:
    validate_layout("{user}/{year}/{month}/{name}", "[libraries.x] layout")
    with pytest.raises(ConfigError, match="unknown placeholder {usr}"):
        validate_layout("{usr}/{name}", "[libraries.x] layout")
