"""A flow's archive step into a library on an SSH target (the real test sshd on loopback, over
SFTP and over rsync): each file lands byte for byte, is never written over another file, is
released only after its copy there is proven, and a target that is away or lacks its folder
holds the flow with the reason; once it is back the same run goes through."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from bench.sshd import SshServer
from shared.config import Settings, build_settings
from shared.errors import ConfigError
from shared.flow import FlowLedger, describe
from shared.state import RedisStateStore
from tests.shared.flow.helpers import photos, run_flow, tree

STEPS = [{"kind": "archive", "library": "nas"},
         {"kind": "release", "to": "icloud-delete"}]


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def _settings(root: Path, sshd: SshServer, kind: str, steps: list[dict[str, Any]] = STEPS
              ) -> tuple[Settings, Path]:
    """The relay from `icloud`, archiving into library `nas` on the sshd's host."""
    for name in ("icloud", "icloud-delete", "host/photo"):
        (root / name).mkdir(parents=True, exist_ok=True)
    raw: dict[str, Any] = {
        "data_dir": "data",
        "libraries": {"nas": {"path": "photo", "target": "nas"}},
        "targets": {"nas": {"kind": kind, "host": sshd.host, "port": sshd.port,
                            "user": sshd.user, "key_file": str(sshd.key_file),
                            "known_hosts": str(sshd.known_hosts), "root": str(root / "host"),
                            "timeout": 5}},
        "flows": {"relay": {"from": "icloud", "steps": steps}},
    }
    return build_settings(raw, root / "mc.toml", root), root / "host" / "photo"


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_the_archive_step_copies_to_an_ssh_library_verified(
        kind: str, tmp_path: Path, sshd: SshServer, store: RedisStateStore) -> None:
    # Given 4 photos in the flow's folder (one in a subfolder), and on the target's library a
    # different file under the name of one of them
    settings, remote = _settings(tmp_path, sshd, kind)
    made = photos(tmp_path / "icloud", 3)
    (tmp_path / "icloud" / "2024").mkdir()
    (tmp_path / "icloud" / "2024" / "IMG_9.jpg").write_bytes(b"in a subfolder" * 300)
    made["2024/IMG_9.jpg"] = b"in a subfolder" * 300
    (remote / "IMG_0001.jpg").write_bytes(b"someone else's photo")
    # When the flow runs
    outcomes = run_flow(settings, store)
    # Then every file went through both steps, none failed, the flow is not held
    assert [(o.step, o.reached, o.failed, o.held) for o in outcomes] == [
        (1, 4, 0, ""), (2, 4, 0, "")]
    # And the target holds each file byte for byte; the other file kept, ours beside it
    expected = {**made, "IMG_0001 (2).jpg": made["IMG_0001.jpg"],
                "IMG_0001.jpg": b"someone else's photo"}
    assert tree(remote) == expected
    assert not list(remote.rglob(".mediacourier-*")), "no temp file left on the target"
    # And the originals were released only after that: all in the release folder
    assert tree(tmp_path / "icloud-delete") == made and tree(tmp_path / "icloud") == {}
    # And each file's record names its copy on the target, and its sha256 is the copy's
    files = FlowLedger(store, "relay").files()
    assert files["IMG_0001.jpg"].copies["1 archive"] == f"nas:{remote}/IMG_0001 (2).jpg"
    for rel, item in files.items():
        copy = Path(item.copies["1 archive"].removeprefix("nas:"))
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == item.sha256, rel
    # And --list-steps says where the copies go
    assert describe(settings, settings.flows["relay"].steps[0]) == (
        f"verified copy to library nas ({remote}) on target nas ({sshd.user}@{sshd.host}:"
        f"{sshd.port}); the file stays where it is")


def test_a_target_away_or_without_its_folder_holds_the_flow(
        tmp_path: Path, sshd: SshServer, store: RedisStateStore) -> None:
    # Given 2 photos and the library folder missing on the target (a NAS disk not mounted)
    settings, remote = _settings(tmp_path, sshd, "sftp")
    made = photos(tmp_path / "icloud", 2)
    remote.rmdir()
    # When the flow runs, Then it is held at the archive step, saying why; nothing moved
    outcomes = run_flow(settings, store)
    assert outcomes[-1].held == (f"step 1 archive: archive folder nas:{remote} does not "
                                 "exist on the target (not mounted?)")
    assert tree(tmp_path / "icloud") == made and not remote.exists()
    # When the folder is there but the SSH server is down
    remote.mkdir()
    sshd.stop()
    outcomes = run_flow(settings, store)
    # Then it is held again with the reason, and every file is still in the flow's folder
    assert outcomes[-1].held.startswith(
        f"step 1 archive: nas: cannot reach {sshd.host}:{sshd.port}"), outcomes
    assert tree(tmp_path / "icloud") == made and tree(remote) == {}
    # When the server is back and the flow runs again, Then every file goes through
    sshd.start()
    outcomes = run_flow(settings, store)
    assert not any(o.held for o in outcomes) and tree(remote) == made
    assert tree(tmp_path / "icloud-delete") == made


def test_only_an_archive_step_may_use_a_library_on_a_target(tmp_path: Path,
                                                            sshd: SshServer) -> None:
    # When a deliver step names the library on the target, Then the loader refuses, in a line
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, sshd, "sftp", [{"kind": "deliver", "library": "nas"}])
    assert "a deliver step writes to folders of this machine only" in str(refused.value)
    assert "\n" not in str(refused.value)
