"""The icloudpd stand-in (tests/data/icloudpd_standin/) made executable, and settings with an
iCloud source that runs it. Shared by the unit, task and end-to-end tests of iCloud sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from shared.config import Settings, build_settings

STANDIN = Path(__file__).resolve().parents[2] / "data" / "icloudpd_standin" / "icloudpd"


def install_standin(folder: Path) -> Path:
    """A copy of the stand-in in `folder`, executable (git does not keep the mode for us)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "icloudpd"
    shutil.copyfile(STANDIN, target)
    target.chmod(0o755)
    return target


def icloud_raw(tmp_path: Path, executable: Path, **keys: Any) -> dict[str, Any]:
    """A configuration with one iCloud source `phone` (its folder `icloud`) → library `photos`."""
    for name in ("icloud", "library", "state"):
        (tmp_path / name).mkdir(exist_ok=True)
    source = {"path": str(tmp_path / "icloud"), "library": "photos", "kind": "icloud",
              "icloud_username": "jappleseed@example.com", "icloudpd": str(executable),
              "stability": "1s", **keys}
    return {"data_dir": str(tmp_path / "state"), "sources": {"phone": source},
            "libraries": {"photos": {"path": str(tmp_path / "library")}}}


def icloud_settings(tmp_path: Path, executable: Path, **keys: Any) -> Settings:
    return build_settings(icloud_raw(tmp_path, executable, **keys), None, tmp_path)


def tell_standin(cookies: Path, case: str, files: list[dict[str, Any]] | None = None,
                 password: str | None = None) -> None:
    """What the stand-in does on its next runs."""
    cookies.mkdir(parents=True, exist_ok=True)
    (cookies / "standin.json").write_text(json.dumps(
        {"case": case, "files": files or [], "password": password}))


def standin_calls(cookies: Path) -> list[dict[str, Any]]:
    """Each run of the stand-in: its argv and whether the password on stdin matched."""
    log = cookies / "standin-calls.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
