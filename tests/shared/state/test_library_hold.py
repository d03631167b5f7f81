"""A library that is not there (shared.state.library_hold): a missing sentinel, a mount point
that is no longer mounted (a real tmpfs), /etc/fstab; its hold, journaled once, and its lift."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest

from shared.config import Settings, build_settings
from shared.state.full_hold import source_gate
from shared.state.library_hold import (
    absent_libraries,
    fstab_mount_points,
    library_gate,
    library_missing,
    rescan_gate,
)
from shared.state.store import RedisStateStore
from tests.fixtures.tmpfs import mounted_tmpfs


def _settings(tmp_path: Path, **library: object) -> Settings:
    (tmp_path / "cam").mkdir(exist_ok=True)
    (tmp_path / "lib").mkdir(exist_ok=True)
    raw = {"sources": {"cam": {"path": "cam", "library": "lib"}},
           "libraries": {"lib": {"path": "lib", "rescan": ["app"], **library}},
           "rescan": {"app": {"command": ["true", "{folder}"]}}}
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def _events(store: RedisStateStore, event: str) -> list[dict[str, str]]:
    return [e for e in store.read_journal() if e["event"] == event]


def test_a_missing_sentinel_holds_the_library_once_and_its_return_lifts_it(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a library whose sentinel file is not in its folder (the disk is not mounted)
    settings = _settings(tmp_path, sentinel=".library-here")
    # When transfers for it and its rescan target ask, several times
    gates = [source_gate(store, settings, "cam", 100) for _ in range(3)]
    # Then each waits with the reason, nothing else is let through, and one alert is journaled
    assert all(g.hold is not None and "'.library-here' is missing" in g.hold.reason
               for g in gates)
    assert rescan_gate(store, settings, "app") is not None
    assert len(_events(store, "library-absent")) == 1
    assert "lib" in absent_libraries(store)
    # When the sentinel is there again
    (tmp_path / "lib" / ".library-here").write_text("")
    # Then the gate opens, the hold is lifted and that is journaled once
    assert source_gate(store, settings, "cam", 100).hold is None
    assert rescan_gate(store, settings, "app") is None
    assert absent_libraries(store) == {}
    assert len(_events(store, "library-back")) == 1


def test_a_library_folder_with_no_mount_history_is_simply_there(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given an ordinary library folder (same disk as its parent, never seen mounted)
    settings = _settings(tmp_path)
    # Then it is there: an empty new library is not mistaken for a missing disk
    assert library_missing(store, settings.libraries["lib"], fstab="/nonexistent") is None
    assert library_gate(store, settings, "lib") is None


def test_an_unmounted_mount_point_holds_until_mounted_again(
        tmp_path: Path, store: RedisStateStore) -> None:
    settings = _settings(tmp_path)
    library = settings.libraries["lib"]
    # Given the library on a real tmpfs, seen mounted once
    with mounted_tmpfs(tmp_path / "lib", "1m"):
        assert library_missing(store, library) is None
    # When it is unmounted (the folder is left, empty, on its parent's disk)
    assert (tmp_path / "lib").is_dir() and not any((tmp_path / "lib").iterdir())
    # Then it is not there, with the reason, and its work waits
    why = library_missing(store, library)
    assert why is not None and "is not mounted" in why
    hold = library_gate(store, settings, "lib")
    assert hold is not None and "library 'lib' is not there" in hold.reason
    # When it is mounted again, it is there again
    with mounted_tmpfs(tmp_path / "lib", "1m"):
        assert library_gate(store, settings, "lib") is None
        assert len(_events(store, "library-back")) == 1


def test_an_fstab_mount_point_on_its_parents_disk_is_not_mounted(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given /etc/fstab listing the library's folder as a mount point (nothing mounted there)
    settings = _settings(tmp_path)
    fstab = tmp_path / "fstab"
    fstab.write_text(f"# a comment\nUUID=1234 {tmp_path / 'lib'} ext4 defaults 0 2\n")
    assert str(tmp_path / "lib") in fstab_mount_points(str(fstab))
    # Then the library is not there
    why = library_missing(store, settings.libraries["lib"], fstab=str(fstab))
    assert why is not None and "/etc/fstab lists it" in why

