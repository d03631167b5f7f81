"""SFTP and rsync-over-SSH destinations against a real sshd on loopback."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from bench.sshd import SshServer
from shared.errors import DestinationExists
from shared.remote.sftp_destination import KINDS, temp_name
from tests.shared.ssh_helpers import rsync_differences, target_for


def write(path: Path, data: bytes, mtime: int = 1_600_000_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_put_list_rename_delete(kind: str, sshd: SshServer, tmp_path: Path) -> None:
    # Given a destination root on the target and a local file with a known mtime
    remote = tmp_path / "remote"
    remote.mkdir()
    src = write(tmp_path / "src" / "a.jpg", os.urandom(300_000))
    dest = KINDS[kind](target_for(sshd, remote, kind))
    try:
        # When it is put, Then the bytes, the sha256 and the mtime arrive, and no temp is left
        sha = dest.put(src, "2024/05/a.jpg", 1_600_000_000_000_000_000, replace=False)
        placed = remote / "2024/05/a.jpg"
        assert sha == hashlib.sha256(src.read_bytes()).hexdigest()
        assert placed.read_bytes() == src.read_bytes()
        assert placed.stat().st_mtime == 1_600_000_000
        assert dest.sha256("2024/05/a.jpg") == sha
        assert dest.sha256("missing.jpg") is None
        assert [(e.rel_path, e.size) for e in dest.list_files()] == [("2024/05/a.jpg", 300_000)]
        # When the same name is put again without replace, Then it is refused, untouched
        other = write(tmp_path / "src" / "b.jpg", b"other bytes")
        with pytest.raises(DestinationExists):
            dest.put(other, "2024/05/a.jpg", 1_600_000_000_000_000_000, replace=False)
        assert placed.read_bytes() == src.read_bytes()
        # ... and with replace, Then it is swapped
        dest.put(other, "2024/05/a.jpg", 1_600_000_000_000_000_000, replace=True)
        assert placed.read_bytes() == b"other bytes"
        # When renamed onto a free name, Then it moves; onto a taken name, Then refused
        dest.put(src, "x/c.jpg", 1_600_000_000_000_000_000, replace=False)
        with pytest.raises(DestinationExists):
            dest.rename("x/c.jpg", "2024/05/a.jpg")
        dest.rename("x/c.jpg", "y/z/c.jpg")
        assert (remote / "y/z/c.jpg").read_bytes() == src.read_bytes()
        # When deleted, Then the file and the folders it leaves empty go
        dest.delete("y/z/c.jpg")
        assert not (remote / "y").exists()
        assert sorted(p.name for p in remote.rglob("*") if p.is_file()) == ["a.jpg"]
    finally:
        dest.close()


def test_resume_after_a_partial_upload_only_when_the_prefix_matches(sshd: SshServer,
                                                                     tmp_path: Path) -> None:
    # Given a partial temp from a dropped connection (the first 100 kB of the file)
    remote = tmp_path / "remote"
    data = os.urandom(400_000)
    src = write(tmp_path / "a.jpg", data)
    mtime_ns = 1_600_000_000_000_000_000
    tmp = remote / temp_name(str(remote / "a.jpg"), len(data), mtime_ns)
    write(tmp, data[:100_000])
    dest = KINDS["sftp"](target_for(sshd, remote))
    sent: list[int] = []
    try:
        # When put again, Then only the rest is sent and the result verifies
        dest.put(src, "a.jpg", mtime_ns, replace=False, progress=sent.append)
        assert (remote / "a.jpg").read_bytes() == data
        assert not tmp.exists()
        assert sent[0] == 100_000 and sum(sent) == 400_000
        # Given a temp whose prefix is *not* this file's, When put, Then it starts over
        write(tmp.with_name(temp_name(str(remote / "b.jpg"), len(data), mtime_ns)),
              b"\0" * 100_000)
        dest.put(src, "b.jpg", mtime_ns, replace=False)
        assert (remote / "b.jpg").read_bytes() == data
    finally:
        dest.close()


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_parallel_puts_with_a_shared_bandwidth_limit(kind: str, sshd: SshServer,
                                                     tmp_path: Path) -> None:
    # Given 8 files of 100 kB and a 1 MB/s limit shared by 4 parallel transfers
    remote, local = tmp_path / "remote", tmp_path / "local"
    files = [write(local / f"d{i % 2}" / f"f{i}.jpg", os.urandom(100_000)) for i in range(8)]
    dest = KINDS[kind](target_for(sshd, remote, kind, bandwidth_limit=1_000_000))
    started = time.monotonic()
    try:
        threads = [threading.Thread(target=dest.put, args=(
            f, f.relative_to(local).as_posix(), f.stat().st_mtime_ns, False)) for f in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        dest.close()
    # Then every file arrived intact (checked by rsync's own checksums) ...
    assert rsync_differences(local, remote) == []
    # ... and 800 kB at 1 MB/s took most of 0.8 s, not the ~0.1 s of an unlimited loopback copy
    assert time.monotonic() - started > 0.5


def test_open_destination_by_target_name(sshd: SshServer, tmp_path: Path) -> None:
    # Given settings with an rsync target on the sshd
    from shared.config import build_settings
    from shared.errors import ConfigError
    from shared.remote.sftp_destination import RsyncDestination
    from shared.remote.targets import open_destination

    raw = {"targets": {"nas": {"kind": "rsync", "host": sshd.host, "port": sshd.port,
                               "user": sshd.user, "key_file": str(sshd.key_file),
                               "known_hosts": str(sshd.known_hosts),
                               "root": str(tmp_path / "remote")}}}
    settings = build_settings(raw, None, tmp_path)
    # When opened by name, Then it is the rsync destination and it writes under the root
    dest = open_destination(settings, "nas")
    try:
        assert isinstance(dest, RsyncDestination)
        src = write(tmp_path / "a.jpg", b"bytes")
        dest.put(src, "a/b.jpg", src.stat().st_mtime_ns, replace=False)
        assert (tmp_path / "remote/a/b.jpg").read_bytes() == b"bytes"
    finally:
        dest.close()
    # An unknown name is a one-line ConfigError naming what is configured
    with pytest.raises(ConfigError, match="no target named 'nsa'; configured: nas"):
        open_destination(settings, "nsa")


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_names_that_are_not_utf8_keep_their_bytes(kind: str, sshd: SshServer,
                                                  tmp_path: Path) -> None:
    # Given a file whose name is Latin-1 bytes (an old camera, a Samba share)
    local = tmp_path / "local"
    local.mkdir()
    name = os.fsdecode(b"caf\xe9 \xc9t\xe9.jpg")
    src = write(local / name, b"latin-1 named bytes")
    remote = tmp_path / "remote"
    dest = KINDS[kind](target_for(sshd, remote, kind))
    try:
        # When put under that name, Then the exact bytes name it on the target
        dest.put(src, f"old/{name}", 1_600_000_000_000_000_000, replace=False)
        assert os.listdir(os.fsencode(remote / "old")) == [b"caf\xe9 \xc9t\xe9.jpg"]
        # ... and it is listed, hashed and deleted by that name
        assert [(e.rel_path, e.size, e.mtime_ns) for e in dest.list_files()] == [
            (f"old/{name}", 19, 1_600_000_000_000_000_000)]
        assert dest.sha256(f"old/{name}") == hashlib.sha256(b"latin-1 named bytes").hexdigest()
        dest.delete(f"old/{name}")
        assert not (remote / "old").exists()
    finally:
        dest.close()


def test_without_a_shell_listing_and_hashing_go_over_sftp(sshd: SshServer, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a target where no command can run (an SFTP-only account): the session's exec
    # channel is refused, as OpenSSH's ForceCommand internal-sftp would
    from shared.remote.sftp_session import SftpSession

    monkeypatch.setattr(SftpSession, "run", lambda self, command: None)
    monkeypatch.setattr(SftpSession, "_hash_line", lambda self, path: None)
    remote = tmp_path / "remote"
    src = write(tmp_path / "a.jpg", os.urandom(70_000))
    dest = KINDS["sftp"](target_for(sshd, remote))
    try:
        # When a file is put, listed and hashed, Then all of it works by SFTP alone
        sha = dest.put(src, "x/a.jpg", 1_600_000_000_000_000_000, replace=False)
        assert sha == hashlib.sha256(src.read_bytes()).hexdigest()
        assert [(e.rel_path, e.size) for e in dest.list_files()] == [("x/a.jpg", 70_000)]
        assert dest.sha256("x/a.jpg") == sha and dest.sha256("x/none.jpg") is None
    finally:
        dest.close()
