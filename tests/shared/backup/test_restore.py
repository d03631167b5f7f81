"""A restore goes into an empty or new folder only: nothing is ever overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.backup import check_restore_folder
from shared.errors import BackupRefused


def test_an_absent_or_empty_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    check_restore_folder(tmp_path / "empty")
    check_restore_folder(tmp_path / "new")


def test_a_folder_with_anything_in_it_is_refused(tmp_path: Path) -> None:
    # Given a folder holding one file of the user's
    (tmp_path / "photo.jpg").write_bytes(b"keep me")
    # When it is checked as a restore folder, Then it is refused in one line, and the file stays
    with pytest.raises(BackupRefused, match=r"--to '.*': not empty; restore into an empty"):
        check_restore_folder(tmp_path)
    assert (tmp_path / "photo.jpg").read_bytes() == b"keep me"


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(BackupRefused, match="not a folder"):
        check_restore_folder(tmp_path / "f")
