"""A library on an SSH target (a real sshd on loopback, real Redis): its existing files are
indexed by the target itself (one `find`, `sha256sum` over many files per call) and count for
dedupe; arrivals wait for its first index; a missing sentinel or a folder gone from the target
holds it like an unmounted local library."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import redis

import shared.state.library_hold as library_hold
from bench.sshd import SshServer
from shared.config import Settings, build_settings
from shared.ingest.context import Context
from shared.ingest.library_index import first_index_hold, index_library
from shared.ingest.pipeline import run_all
from shared.jobs import FileJob, Outcome
from shared.state import library_gate
from shared.state.store import RedisStateStore
from tests.shared.ingest.trees import sha, tree

PHOTOS = ("Canon_40D.jpg", "Nikon_D70.jpg", "Pentax_K10D.jpg")


def _settings(tmp_path: Path, sshd: SshServer, **library: Any) -> Settings:
    (tmp_path / "cam").mkdir(exist_ok=True)
    raw = {"sources": {"cam": {"path": "cam", "library": "lib", "mode": "copy"}},
           "libraries": {"lib": {"path": "photo", "target": "nas", **library}},
           "targets": {"nas": {"kind": "sftp", "host": sshd.host, "port": sshd.port,
                               "user": sshd.user, "key_file": str(sshd.key_file),
                               "known_hosts": str(sshd.known_hosts),
                               "root": str(tmp_path / "nas"), "timeout": 5}}}
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


def _prefill(library: Path, corpus_dir: Path) -> dict[str, str]:
    """The user's own library on the NAS: photos (one named like an option, one with spaces),
    an XMP sidecar and a hidden folder of thumbnails, none of which mediacourier placed."""
    names = {"2000/Canon_40D.jpg": PHOTOS[0], "2001/-odd name.jpg": PHOTOS[1],
             "2002/a b/Pentax K10D.jpg": PHOTOS[2]}
    hashes = {}
    for rel, name in names.items():
        target = library / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus_dir / "jpg" / name, target)
        hashes[rel] = sha(target.read_bytes())
    (library / "2000" / "Canon_40D.xmp").write_text("<x/>")
    (library / ".thumbs").mkdir()
    (library / ".thumbs" / "t.jpg").write_bytes(b"thumb")
    return hashes


def test_a_target_library_is_indexed_by_the_target_and_counts_for_dedupe(
        tmp_path: Path, sshd: SshServer, redis_client: redis.Redis, key_prefix: str,
        corpus_dir: Path) -> None:
    # Given a library on an SSH target already holding photos, and a source bringing one of
    # them again under another name
    settings = _settings(tmp_path, sshd)
    library, target = settings.libraries["lib"], settings.targets["nas"]
    remote = tmp_path / "nas" / "photo"
    hashes = _prefill(remote, corpus_dir)
    store = RedisStateStore(redis_client, key_prefix)
    (tmp_path / "cam" / "IMG_0001.JPG").write_bytes((remote / "2000/Canon_40D.jpg").read_bytes())
    # When a file arrives before the first index, Then it is held for it
    hold = first_index_hold(store, settings, "cam")
    assert hold is not None and "indexed for the first time" in hold.reason
    # When the library is indexed
    run = index_library(store, library, target=target)
    # Then every photo's hash names it in the content index (sidecars, hidden files do not),
    # and arrivals no longer wait
    assert (run.complete, run.files, run.hashed, run.new, run.unreadable) == (True, 3, 3, 3, 0)
    for rel, digest in hashes.items():
        entry = store.content(digest)
        assert entry is not None and (entry.library, entry.rel_path) == ("lib", rel)
    assert first_index_hold(store, settings, "cam") is None
    # And the arrival under another name is a duplicate: nothing is written to the target
    before = tree(remote)
    job = run_all(FileJob("cam", "IMG_0001.JPG"), Context(settings, store, hostname="t"))
    assert job.outcome == Outcome.DUPLICATE and job.dest_path == "2000/Canon_40D.jpg"
    assert tree(remote) == before
    # When indexed again after one photo changed and one was deleted on the NAS
    (remote / "2001/-odd name.jpg").write_bytes(b"edited on the NAS")
    (remote / "2002/a b/Pentax K10D.jpg").unlink()
    again = index_library(store, library, target=target)
    # Then only the changed one is hashed again, and the deleted one no longer counts
    assert (again.hashed, again.gone) == (1, 1)
    assert store.content(hashes["2002/a b/Pentax K10D.jpg"]) is None
    assert store.content(sha(b"edited on the NAS")).rel_path == "2001/-odd name.jpg"


def test_a_target_library_without_its_sentinel_or_folder_is_held(
        tmp_path: Path, sshd: SshServer, redis_client: redis.Redis, key_prefix: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a library on an SSH target with a sentinel file, looked at anew on every check
    monkeypatch.setattr(library_hold, "THERE_SECONDS", 0.0)
    settings = _settings(tmp_path, sshd, sentinel=".mounted")
    store = RedisStateStore(redis_client, key_prefix)
    remote = tmp_path / "nas" / "photo"
    remote.mkdir(parents=True)
    # When its sentinel is missing, Then it is held, one library-absent journaled
    hold = library_gate(store, settings, "lib")
    assert hold is not None and "sentinel file '.mounted' is missing" in hold.reason
    assert "on target 'nas'" in hold.reason
    # When the sentinel is there, Then the hold is lifted (library-back)
    (remote / ".mounted").write_text("")
    assert library_gate(store, settings, "lib") is None
    events = [e["event"] for e in store.read_journal() if e.get("library") == "lib"]
    assert events == ["library-absent", "library-back"]
    # When the NAS volume is not mounted (the folder and its parent gone), Then held again
    shutil.rmtree(tmp_path / "nas")
    hold = library_gate(store, settings, "lib")
    assert hold is not None and "missing, and its parent folder too" in hold.reason
    # When the target does not answer at all, Then it is not "not there" (transfers say why)
    sshd.stop()
    assert library_hold.library_missing(store, settings.libraries["lib"],
                                        target=settings.targets["nas"]) is None


def test_a_target_library_seen_once_and_then_gone_is_held_a_new_one_is_not(
        tmp_path: Path, sshd: SshServer, redis_client: redis.Redis, key_prefix: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_hold, "THERE_SECONDS", 0.0)
    settings = _settings(tmp_path, sshd)
    store = RedisStateStore(redis_client, key_prefix)
    (tmp_path / "nas").mkdir()
    # Given a new library whose folder is not made yet (its first upload makes it)
    # When looked at, Then it is not held
    assert library_gate(store, settings, "lib") is None
    # When its folder exists and is seen, then is removed from the target
    (tmp_path / "nas" / "photo").mkdir()
    assert library_gate(store, settings, "lib") is None
    (tmp_path / "nas" / "photo").rmdir()
    # Then it is held as gone
    hold = library_gate(store, settings, "lib")
    assert hold is not None and "is gone (it was there before)" in hold.reason
