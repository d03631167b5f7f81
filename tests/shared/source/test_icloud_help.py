"""Every option our icloudpd command uses is one the real icloudpd knows: its `--help`, run
from the icloudpd the project installs (pyproject.toml pins it). Never skipped: a
missing icloudpd fails here, in CI too."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from shared.config import IcloudOptions
from shared.config.icloud import default_icloudpd
from shared.source import auth_command, fetch_command


def test_every_option_we_pass_is_in_the_real_icloudpd_help(tmp_path: Path) -> None:
    # Given the real icloudpd (on PATH or the one ./dev installed)
    executable = default_icloudpd()
    done = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, f"{executable} --help failed: {done.stderr[-500:]}"
    known = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", done.stdout))
    # When our commands are built with every option turned on
    options = IcloudOptions(username="u@example.com", delete_from_icloud_after_days=30,
                            icloudpd=executable)
    ours = fetch_command(options, tmp_path, tmp_path, password_on_stdin=True,
                         delete_older_than_days=30)
    ours += fetch_command(options, tmp_path, tmp_path, password_on_stdin=False)
    ours += auth_command(options, tmp_path)
    used = {arg for arg in ours if arg.startswith("--")}
    # Then icloudpd's help lists each of them, and each choice we give is one it offers
    assert used - known == set()
    assert "{console,keyring,parameter,webui}" in done.stdout
    assert "{debug,info,error}" in done.stdout
    # And the delete option means what icloud_safety.py assumes: older than N days, 0 = all
    assert "--delete-after-download" not in used
    help_text = " ".join(done.stdout.split())
    assert ("--keep-icloud-recent-days KEEP_ICLOUD_RECENT_DAYS Keep photos newer than this many "
            "days in iCloud. Delete the rest. If set to 0, all photos will be deleted from "
            "iCloud.") in help_text


def test_the_installed_icloudpd_is_the_version_the_standin_copies() -> None:
    # Given the real icloudpd, When asked its version
    done = subprocess.run([default_icloudpd(), "--version"], capture_output=True, text=True,
                          timeout=120, check=False)
    # Then it is 1.32.3, whose log lines tests/data/icloudpd_standin/ prints
    assert "version:1.32.3" in done.stdout
