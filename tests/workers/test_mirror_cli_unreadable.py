"""`mediacourier mirror` when part of the source cannot be read: the command exits 1 and says
which folder, both in a dry run and in a real run, and the replica under it is kept.

In-process (no Redis: the store is optional for the command), because the failure is injected
where the walk lists the folder: tests run as root, which reads any folder whatever its mode."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from shared.config import Settings, build_settings
from workers.mirror_cli import run_mirror_command

REAL_SCANDIR = os.scandir


def _settings(root: Path) -> Settings:
    for folder in ("in", "lib/2023", "lib/2024", "nas/2023", "nas/2024"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for side in ("lib", "nas"):
        (root / side / "2023" / "a.jpg").write_bytes(b"photo a")
    (root / "lib" / "2024" / "b.jpg").write_bytes(b"photo b")
    raw = {"sources": {"in": {"path": "in", "library": "lib"}},
           "libraries": {"lib": {"path": "lib"}},
           "targets": {"nas": {"kind": "local", "root": "nas"}},
           "mirrors": {"backup": {"library": "lib", "target": "nas", "max_delete": 100,
                                  "max_delete_share": 1.0}}}
    return build_settings(raw, root / "mediacourier.toml", root)


def _eio_when_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    def scandir(path: Any = ".") -> Any:
        if not isinstance(path, int) and os.fspath(path) == os.fspath(folder):
            raise OSError(errno.EIO, "Input/output error")
        return REAL_SCANDIR(path)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_unreadable_library_folder_exits_1_naming_it_and_keeps_the_replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool
) -> None:
    # Given a mirror whose library folder 2023/ answers EIO (a disk failing, a share dropping)
    settings = _settings(tmp_path)
    _eio_when_listing(monkeypatch, tmp_path / "lib" / "2023")
    console = Console(record=True, width=200)
    # When the command runs
    status = run_mirror_command(settings, None, "backup", dry_run, False, console)
    out = console.export_text()
    # Then it exits 1 and names the folder and the reason; the replica of 2023/ is kept
    assert status == 1, out
    assert "2023/" in out and "Input/output error" in out
    assert "nothing under it was deleted" in out
    assert (tmp_path / "nas" / "2023" / "a.jpg").read_bytes() == b"photo a"
    # And the readable rest is mirrored by a real run
    assert (tmp_path / "nas" / "2024" / "b.jpg").exists() is not dry_run
