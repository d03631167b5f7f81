"""The four conflict kinds built on disk after a first sync, for the local and SFTP tests."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from shared.config import Settings, build_settings
from tests.shared.mirror.mirror_trees import BASE_NS, put_file, tree

FILES = {"a.jpg": "master A", "b.jpg": "master B, a long one", "c.jpg": "master C",
         "d.jpg": "master D", "e.jpg": "master E", "f.jpg": "master F"}


def settings_for(tmp_path: Path, target: dict[str, Any], policy: str) -> Settings:
    raw = {"sources": {}, "libraries": {"photos": {"path": str(tmp_path / "master")}},
           "targets": {"backup": target},
           "mirrors": {"m": {"library": "photos", "target": "backup", "conflicts": policy,
                             "max_delete_share": 1.0}}}
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


def make_master(master: Path) -> None:
    for rel, text in FILES.items():
        put_file(master, rel, text, age_s=3600)


def build_conflicts(master: Path, backup: Path) -> None:
    """After a sync: a modified on both sides, b truncated on the backup at its synced mtime,
    c deleted from the master but edited on the backup, d deleted from the backup, e deleted
    from the master alone (a normal delete); f is left alone."""
    put_file(master, "a.jpg", "master A, edited", age_s=60)
    put_file(backup, "a.jpg", "backup A, edited elsewhere", age_s=120)
    synced = (backup / "b.jpg").stat().st_mtime_ns
    (backup / "b.jpg").write_bytes(b"master B")
    os.utime(backup / "b.jpg", ns=(synced, synced))
    (master / "c.jpg").unlink()
    put_file(backup, "c.jpg", "backup C, edited", age_s=30)
    (backup / "d.jpg").unlink()
    (master / "e.jpg").unlink()


def dated(rel: str, age_s: float) -> str:
    """The name keep_both gives the backup's version (its mtime's day), worked out here."""
    day = dt.date.fromtimestamp((BASE_NS - age_s * 1e9) / 1e9).isoformat()
    stem, ext = os.path.splitext(rel)
    return f"{stem} (backup {day}){ext}"


__all__ = ["FILES", "build_conflicts", "dated", "make_master", "settings_for", "tree"]
