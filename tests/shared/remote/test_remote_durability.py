"""Uploads are made durable on the target before a source may go: the checked temp is fsynced
(OpenSSH's fsync@openssh.com) before its rename and its folder after; rsync runs with
--protect-args and --fsync; an fsync that fails keeps the source. Against the real sshd.

The target's disk cannot be made to fail on loopback, so a failing fsync is the SFTP server's
reply to the fsync request (SSH2_FX_FAILURE, what sftp-server answers when fsync(2) fails)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paramiko
import pytest
import redis
from paramiko.sftp import CMD_EXTENDED

from bench.sshd import SshServer
from shared.errors import WriteBackFailed
from shared.ingest.pipeline import run_all
from shared.jobs import FileJob, Outcome
from shared.remote.sftp_destination import KINDS, RSYNC_FSYNC, rsync_version
from shared.remote.sftp_session import SftpSession
from tests.shared.remote.test_remote_library import put, remote_context
from tests.shared.ssh_helpers import target_for

FSYNC = "fsync@openssh.com"
REAL_REQUEST = paramiko.SFTPClient._request


def _on_fsync(monkeypatch: pytest.MonkeyPatch, react: Callable[[int], None]) -> None:
    """Call `react(n)` at the n-th fsync@openssh.com request (0-based), then send it."""
    seen = [0]

    def request(self: paramiko.SFTPClient, t: int, *args: Any) -> Any:
        if t == CMD_EXTENDED and args and args[0] == FSYNC:
            seen[0] += 1
            react(seen[0] - 1)
        return REAL_REQUEST(self, t, *args)

    monkeypatch.setattr(paramiko.SFTPClient, "_request", request)


def _temps(root: Path) -> list[Path]:
    return list(root.rglob(".mediacourier-*"))


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_the_temp_is_fsynced_before_its_rename_and_the_folder_after(
    kind: str, sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a destination on the target, and a spy on the SFTP requests
    remote = tmp_path / "remote"
    final = remote / "2024" / "a.jpg"
    seen: list[tuple[bool, bool]] = []  # (final name there, a temp there) at each fsync
    _on_fsync(monkeypatch, lambda n: seen.append((final.exists(), bool(_temps(remote)))))
    src = tmp_path / "a.jpg"
    src.write_bytes(os.urandom(150_000))
    dest = KINDS[kind](target_for(sshd, remote, kind))
    try:
        # When a file is put
        dest.put(src, "2024/a.jpg", src.stat().st_mtime_ns, replace=False)
    finally:
        dest.close()
    # Then fsync@openssh.com was requested twice: for the temp while it was still the only
    # copy there (before the rename), then once the final name existed (its folder)
    assert seen == [(False, True), (True, False)]
    assert final.read_bytes() == src.read_bytes()


def test_rsync_runs_with_protect_args_and_fsync(
    sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given rsync here and on the target (the same machine) that know --fsync
    local = subprocess.run(["rsync", "--version"], capture_output=True, text=True, check=True)
    assert rsync_version(local.stdout) >= RSYNC_FSYNC
    runs: list[list[str]] = []
    real_run = subprocess.run

    def spy(argv: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(argv, list) and argv[:1] == ["rsync"] and "--version" not in argv:
            runs.append(list(argv))
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    remote = tmp_path / "remote"
    src = tmp_path / "name with spaces; and $(dollar).jpg"
    src.write_bytes(os.urandom(80_000))
    dest = KINDS["rsync"](target_for(sshd, remote, "rsync"))
    try:
        # When a file whose name a remote shell would split is put
        dest.put(src, "odd folder/name with spaces; and $(dollar).jpg",
                 src.stat().st_mtime_ns, replace=False)
    finally:
        dest.close()
    # Then rsync ran with -s (--protect-args) and --fsync, and the bytes arrived as named
    [argv] = runs
    assert "-s" in argv and "--fsync" in argv
    placed = remote / "odd folder" / "name with spaces; and $(dollar).jpg"
    assert placed.read_bytes() == src.read_bytes()
    # And an older rsync (before 3.2.4) would not be given --fsync
    assert rsync_version("rsync  version 3.2.3  protocol version 31") < RSYNC_FSYNC


@pytest.mark.parametrize("failing", ["temp", "folder"])
def test_an_upload_whose_fsync_fails_keeps_the_source(
    failing: str, sshd: SshServer, tmp_path: Path, redis_client: redis.Redis, key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a move-mode source and a library on the SSH target whose disk refuses the fsync
    # of the uploaded temp (or of its folder after the rename)
    nas = tmp_path / "nas"
    ctx = remote_context(tmp_path, sshd, redis_client, key_prefix, nas)
    data = os.urandom(120_000)
    src = put(ctx, "2024/a.jpg", data)
    target_call = 0 if failing == "temp" else 1

    def refuse(n: int) -> None:
        if n == target_call:
            raise OSError("Failure")

    _on_fsync(monkeypatch, refuse)
    # When the file is ingested
    with pytest.raises(WriteBackFailed, match="could not write it to disk"):
        run_all(FileJob("cam", "2024/a.jpg"), ctx)
    # Then the source is kept, and nothing of the upload is left on the target to be trusted
    assert src.read_bytes() == data
    assert not (nas / "photos" / "2024" / "a.jpg").exists() and _temps(nas) == []
    record = ctx.store.get_record("cam", "2024/a.jpg")
    assert record is None or record.state not in ("verified", "ingested")
    # When the disk recovers and the file is tried again, Then it goes through
    monkeypatch.setattr(paramiko.SFTPClient, "_request", REAL_REQUEST)
    job = run_all(FileJob("cam", "2024/a.jpg"), ctx)
    assert job.outcome == Outcome.INGESTED, job.reason
    assert (nas / "photos" / "2024" / "a.jpg").read_bytes() == data and not src.exists()


def test_a_server_without_the_extension_is_synced_by_its_shell(
    sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an SFTP server that does not know fsync@openssh.com (but gives us a shell)
    def unsupported(n: int) -> None:
        raise OSError("Operation unsupported")

    _on_fsync(monkeypatch, unsupported)
    commands: list[str] = []
    real = SftpSession.run

    def run(self: SftpSession, command: str) -> Any:
        commands.append(command)
        return real(self, command)

    monkeypatch.setattr(SftpSession, "run", run)
    remote = tmp_path / "remote"
    src = tmp_path / "a.jpg"
    src.write_bytes(b"photo" * 1000)
    dest = KINDS["sftp"](target_for(sshd, remote))
    try:
        # When a file is put
        dest.put(src, "a.jpg", src.stat().st_mtime_ns, replace=False)
    finally:
        dest.close()
    # Then the temp and then the folder were synced with `sync -f` on the target instead
    syncs = [c for c in commands if c.startswith("sync -f -- ")]
    assert len(syncs) == 2 and ".mediacourier-" in syncs[0] and syncs[1].endswith(str(remote))
    assert (remote / "a.jpg").read_bytes() == src.read_bytes()
