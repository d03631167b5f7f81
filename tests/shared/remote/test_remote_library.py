"""The ingest stages with a library on an SSH target (real sshd, real Redis), in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bench.sshd import SshServer
from shared.config import build_settings
from shared.errors import DestinationFull
from shared.ingest.context import Context
from shared.ingest.pipeline import run_all
from shared.jobs import FileJob, Outcome
from shared.state.store import RedisStateStore
from tests.fixtures.tmpfs import mounted_tmpfs


def remote_context(base: Path, sshd: SshServer, redis_client: redis.Redis, prefix: str,
                   remote_root: Path, **target: Any) -> Context:
    (base / "src").mkdir(parents=True, exist_ok=True)
    raw = {
        "sources": {"cam": {"path": str(base / "src"), "library": "lib"}},
        "libraries": {"lib": {"path": "photos", "target": "nas"}},
        "targets": {"nas": {"kind": "sftp", "host": sshd.host, "port": sshd.port,
                            "user": sshd.user, "key_file": str(sshd.key_file),
                            "known_hosts": str(sshd.known_hosts), "root": str(remote_root),
                            "timeout": 5, **target}},
    }
    settings = build_settings(raw, None, base)
    return Context(settings, RedisStateStore(redis_client, prefix), hostname="test-host")


def put(ctx: Context, rel: str, data: bytes) -> Path:
    path = ctx.settings.sources["cam"].path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_ingest_places_verifies_and_releases(sshd: SshServer, tmp_path: Path,
                                            redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a move-mode source and a library on the SSH target
    ctx = remote_context(tmp_path, sshd, redis_client, key_prefix, tmp_path / "nas")
    data = os.urandom(200_000)
    src = put(ctx, "2024/a.jpg", data)
    # When the file goes through every stage
    job = run_all(FileJob("cam", "2024/a.jpg"), ctx)
    # Then it sits on the target, verified, and the source is gone
    assert job.outcome == Outcome.INGESTED, job
    assert (tmp_path / "nas/photos/2024/a.jpg").read_bytes() == data
    assert not src.exists()
    assert ctx.store.get_record("cam", "2024/a.jpg").state == "ingested"
    # When the same content arrives under another name, Then it is a duplicate of the
    # target's file (looked up on the target) and stays in the source (policy skip)
    again = put(ctx, "b.jpg", data)
    job = run_all(FileJob("cam", "b.jpg"), ctx)
    assert job.outcome == Outcome.DUPLICATE and job.dest_path == "2024/a.jpg"
    assert again.exists()
    assert ctx.store.target_health()["nas"][0] is True


def test_journal_counts_an_upload_as_copied(sshd: SshServer, tmp_path: Path,
                                            redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a source and a library on the SSH target
    ctx = remote_context(tmp_path, sshd, redis_client, key_prefix, tmp_path / "nas")
    data = os.urandom(150_000)
    put(ctx, "c.jpg", data)
    # When the file goes through every stage (its bytes uploaded over SFTP)
    job = run_all(FileJob("cam", "c.jpg"), ctx)
    # Then the journal says it was copied, with its size, like a local copy
    assert job.outcome == Outcome.INGESTED, job
    assert (tmp_path / "nas/photos/c.jpg").read_bytes() == data
    entry = next(e for e in ctx.store.read_journal() if e.get("path") == "c.jpg")
    assert entry["copied"] == "1" and entry["bytes"] == str(len(data))


def test_unknown_host_key_fails_the_file_and_keeps_the_source(
        sshd: SshServer, tmp_path: Path, redis_client: redis.Redis, key_prefix: str) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    ctx = remote_context(tmp_path, sshd, redis_client, key_prefix, tmp_path / "nas",
                         known_hosts=str(empty))
    src = put(ctx, "a.jpg", b"jpeg bytes")
    # When ingested, Then the file fails for good (no retry) with how to fix it, source kept
    job = run_all(FileJob("cam", "a.jpg"), ctx)
    assert job.outcome == Outcome.FAILED
    assert "ssh-keyscan" in job.reason and f"127.0.0.1:{sshd.port}" in job.reason
    assert src.read_bytes() == b"jpeg bytes"
    assert not (tmp_path / "nas").exists()
    healthy, reason, _ = ctx.store.target_health()["nas"]
    assert not healthy and "not in" in reason


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (we run as root), unmounted afterwards."""
    with mounted_tmpfs(tmp_path / "small", "2m") as mount_point:
        yield mount_point


def test_full_target_holds_the_file_until_space_returns(
        sshd: SshServer, tmp_path: Path, redis_client: redis.Redis, key_prefix: str,
        small_tmpfs: Path) -> None:
    # Given a 2 MiB target that is nearly full, and a 1 MB file to place
    ctx = remote_context(tmp_path, sshd, redis_client, key_prefix, small_tmpfs)
    filler = small_tmpfs / "filler.bin"
    filler.write_bytes(b"\0" * 1_600_000)
    data = os.urandom(1_000_000)
    src = put(ctx, "big.jpg", data)
    # When it is ingested, Then DestinationFull (retryable) and the source is untouched
    with pytest.raises(DestinationFull):
        run_all(FileJob("cam", "big.jpg"), ctx)
    assert src.read_bytes() == data
    assert not (small_tmpfs / "photos/big.jpg").exists()
    # When space returns and the job is retried, Then it completes and the source is released
    filler.unlink()
    run_all(FileJob("cam", "big.jpg"), ctx)
    assert (small_tmpfs / "photos/big.jpg").read_bytes() == data
    assert not src.exists()
    assert not list(small_tmpfs.rglob(".mediacourier-*"))


def test_doctor_checks_a_library_on_the_target(sshd: SshServer, tmp_path: Path,
                                               redis_client: redis.Redis,
                                               key_prefix: str) -> None:
    from workers.report import doctor_checks

    (tmp_path / "nas/photos").mkdir(parents=True)
    ctx = remote_context(tmp_path, sshd, redis_client, key_prefix, tmp_path / "nas")
    checks = dict(doctor_checks(ctx.settings, lambda: "pong"))
    # Given the library folder exists on the target, Then the check connects and says so
    assert checks["library lib"]() == f"nas:{tmp_path}/nas/photos is reachable over SSH"
    # Given the server is down, Then the check raises a one-line TargetUnreachable
    sshd.stop()
    from shared.errors import TargetUnreachable

    with pytest.raises(TargetUnreachable, match=f"127.0.0.1:{sshd.port}"):
        checks["library lib"]()
