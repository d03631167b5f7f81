"""Faults against a real sshd: refused keys and host keys, a dropped connection, a full disk."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.sshd import SshServer
from shared.errors import DestinationFull, TargetRefused, TargetUnreachable
from shared.remote.sftp_destination import KINDS, SftpDestination
from shared.remote.ssh import connect
from tests.e2e.harness import wait_for
from tests.fixtures.tmpfs import mounted_tmpfs
from tests.shared.ssh_helpers import rsync_differences, target_for


def test_unknown_host_key_is_refused_with_the_fix(sshd: SshServer, tmp_path: Path) -> None:
    # Given a known_hosts file that does not name the server's key
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    target = target_for(sshd, tmp_path, known_hosts=empty)
    # When connecting, Then it is a permanent refusal naming host:port and how to fix it
    with pytest.raises(TargetRefused) as refused:
        connect(target)
    message = str(refused.value)
    assert f"127.0.0.1:{sshd.port}" in message and "ssh-keyscan" in message
    assert "\n" not in message
    # Given a known_hosts line with another key for this host:port, Then refused too
    other = sshd.make_key("impostor_host_key")
    kind, blob = Path(f"{other}.pub").read_text().split()[:2]
    empty.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    with pytest.raises(TargetRefused, match="does not match"):
        connect(target)


def test_wrong_key_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    target = target_for(sshd, tmp_path, key_file=sshd.make_key("wrong_key"))
    with pytest.raises(TargetRefused, match=f"root@127.0.0.1:{sshd.port} refused the key"):
        connect(target)


def test_server_down_is_retryable_and_marks_the_target(sshd: SshServer, tmp_path: Path) -> None:
    health: list[tuple[bool, str]] = []
    dest = SftpDestination(target_for(sshd, tmp_path), lambda ok, why: health.append((ok, why)))
    sshd.stop()
    try:
        with pytest.raises(TargetUnreachable, match=f"127.0.0.1:{sshd.port}"):
            dest.sha256("a.jpg")
        sshd.start()
        assert dest.sha256("a.jpg") is None
    finally:
        dest.close()
    assert [ok for ok, _ in health] == [False, True]


SIZE = 6_000_000  # three seconds at the test's 2 MB/s limit


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_sshd_stopped_mid_transfer_resumes_and_verifies(kind: str, sshd: SshServer,
                                                        tmp_path: Path) -> None:
    # Given an upload slowed to 2 MB/s of a 6 MB file
    remote = tmp_path / "remote"
    src = tmp_path / "big.jpg"
    src.write_bytes(os.urandom(SIZE))
    dest = KINDS[kind](target_for(sshd, remote, kind, bandwidth_limit=2_000_000, parallel=1))
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            dest.put(src, "big.jpg", src.stat().st_mtime_ns, replace=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    worker = threading.Thread(target=upload)
    worker.start()
    # When the server dies part-way (connections dropped) — once bytes have arrived, however
    # long the connection took to open on a busy machine —, Then the upload fails retryably,
    # leaving a partial temp file and no final file
    wait_for(lambda: any(p.stat().st_size > 200_000 for p in remote.glob(".mediacourier-*")),
             60, "the upload under way")
    sshd.stop()
    worker.join(30)
    assert len(errors) == 1 and isinstance(errors[0], TargetUnreachable), errors
    partial = [p for p in remote.iterdir() if p.name.startswith(".mediacourier-")]
    assert len(partial) == 1 and 0 < partial[0].stat().st_size < SIZE
    assert not (remote / "big.jpg").exists()
    # When the server is back and the upload retried, Then it resumes and verifies
    sshd.start()
    sent: list[int] = []
    dest.put(src, "big.jpg", src.stat().st_mtime_ns, replace=False, progress=sent.append)
    dest.close()
    assert (remote / "big.jpg").read_bytes() == src.read_bytes()
    if kind == "sftp":
        assert sent[0] == partial[0].stat().st_size if partial[0].exists() else sent[0] > 0
    assert [p.name for p in remote.iterdir()] == ["big.jpg"]


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (we run as root), unmounted afterwards."""
    with mounted_tmpfs(tmp_path / "small", "2m") as mount_point:
        yield mount_point


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_full_destination_holds_then_completes(kind: str, sshd: SshServer, tmp_path: Path,
                                               small_tmpfs: Path) -> None:
    # Given a 2 MiB destination that already holds 1.5 MB, and three 400 kB files to send
    local = tmp_path / "local"
    local.mkdir()
    files = []
    for index in range(3):
        path = local / f"f{index}.jpg"
        path.write_bytes(os.urandom(400_000))
        files.append(path)
    filler = small_tmpfs / "filler.bin"
    filler.write_bytes(b"\0" * 1_500_000)
    dest = KINDS[kind](target_for(sshd, small_tmpfs, kind))
    held = []
    try:
        # When they are put, Then the one that does not fit is DestinationFull, sources intact
        for path in files:
            try:
                dest.put(path, path.name, path.stat().st_mtime_ns, replace=False)
            except DestinationFull as exc:
                held.append(path)
                assert f"{small_tmpfs}" in str(exc)
        assert held, "nothing hit the full disk"
        assert all(p.stat().st_size == 400_000 for p in files)
        # When space is freed and the held files are retried, Then everything completes
        filler.unlink()
        for path in held:
            dest.put(path, path.name, path.stat().st_mtime_ns, replace=False)
    finally:
        dest.close()
    assert rsync_differences(local, small_tmpfs) == []
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["f0.jpg", "f1.jpg", "f2.jpg"]
