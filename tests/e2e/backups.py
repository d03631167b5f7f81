"""Helpers for the restic and rclone tests: a library ingested (so indexed) from the camera
corpus, trees compared by content, and the real tools run the way a user would."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tests.e2e.harness import Deployment

PASSWORD = "correct horse battery staple"


def tree(root: Path) -> dict[str, str]:
    """rel_path -> sha256 of every regular file under root."""
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            found[path.relative_to(root).as_posix()] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    return found


def indexed_library(dep: Deployment, corpus_dir: Path, parts: tuple[str, ...] = ("tiff",
                                                                              "heic")) -> Path:
    """A library `lib` filled by `mediacourier sync` from parts of the corpus: every file is
    in the library index with its sha256, as after real ingests."""
    inbox, library = dep.one_source("inbox", "lib", mode="copy")
    for part in parts:
        shutil.copytree(corpus_dir / part, inbox / part)
    done = dep.run_cli("sync", "inbox", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert dep.store().library_files("lib"), "the sync indexed nothing"
    return library


def restic(repo: str, password_file: Path, *args: str, extra: tuple[str, ...] = (),
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD_FILE": str(password_file)}
    return subprocess.run(["restic", *extra, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def password_file(folder: Path) -> Path:
    path = folder / "restic-password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path
