"""A fake Nextcloud data directory for the tests of nextcloud sources."""

from __future__ import annotations

from pathlib import Path


def make_data_dir(root: Path, users: dict[str, list[str]]) -> Path:
    """A fake Nextcloud data directory: each user with the folders given (under their own
    folder), plus what Nextcloud keeps beside its users."""
    data = root / "data"
    for user, folders in users.items():
        (data / user).mkdir(parents=True, exist_ok=True)
        for folder in folders:
            (data / user / folder).mkdir(parents=True, exist_ok=True)
    for own in ("appdata_oc1x2y3z/preview/1/2", "__groupfolders/1", "files_external",
                "updater-oc1x2y3z/backups", ".hidden/files/InstantUpload"):
        (data / own).mkdir(parents=True, exist_ok=True)
    # appdata's previews look like photos: a walk that entered it would plan them.
    (data / "appdata_oc1x2y3z/preview/1/2/4096-4096-max.jpg").write_bytes(b"preview")
    (data / "nextcloud.log").write_text("{}\n")
    (data / ".ocdata").write_text("")
    return data
