"""What a library already held counts for dedupe (shared.ingest.library_index): the index of
its files, its cache, its cursor, and the hold of arrivals until the first index is done."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import fakeredis
import pytest

import shared.ingest.library_index as library_index
from shared.config import Settings, build_settings
from shared.ingest.library_index import first_index_hold, index_library, walk_library
from shared.jobs import Outcome
from shared.state.store import RedisStateStore
from tests.shared.ingest.trees import sha
from tests.shared.ingest.trees import tree as _tree
from tests.shared.rig import Rig

PHOTOS = ("Canon_40D.jpg", "Nikon_D70.jpg", "Pentax_K10D.jpg", "Sony_HDR-HC3.jpg")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "cam").mkdir()
    (tmp_path / "lib").mkdir()
    raw = {"sources": {"cam": {"path": "cam", "library": "lib"}},
           "libraries": {"lib": {"path": "lib"}}}
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def _prefill(library: Path, corpus_dir: Path) -> dict[str, str]:
    """The user's own library: corpus photos in year folders, plus an XMP and a hidden file."""
    hashes = {}
    for index, name in enumerate(PHOTOS):
        target = library / f"200{index}" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus_dir / "jpg" / name, target)
        hashes[f"200{index}/{name}"] = sha(target.read_bytes())
    (library / "2000" / "Canon_40D.xmp").write_text("<x/>")
    (library / ".DS_Store").write_bytes(b"\0" * 10)
    return hashes


def test_the_index_makes_every_library_file_count_and_reuses_unchanged_hashes(
        settings: Settings, store: RedisStateStore, corpus_dir: Path) -> None:
    library = settings.libraries["lib"]
    # Given a library of photos mediacourier never placed
    hashes = _prefill(library.path, corpus_dir)
    # When it is indexed
    run = index_library(store, library)
    # Then every photo's hash names it in the content index (sidecars and hidden files do not)
    assert run.complete and run.files == len(PHOTOS) and run.hashed == len(PHOTOS)
    assert run.new == len(PHOTOS)
    for rel, digest in hashes.items():
        entry = store.content(digest)
        assert entry is not None and (entry.library, entry.rel_path) == ("lib", rel)
    # When it is indexed again, one photo changed and one deleted
    changed, deleted = sorted(hashes)[:2]
    (library.path / changed).write_bytes(b"edited in an app")
    os.unlink(library.path / deleted)
    again = index_library(store, library)
    # Then only the changed one is read again, and the deleted one no longer counts
    assert again.hashed == 1 and again.gone == 1
    assert store.content(hashes[deleted]) is None
    assert store.content(sha(b"edited in an app")).rel_path == changed


def test_an_interrupted_index_resumes_at_its_cursor(
        settings: Settings, store: RedisStateStore, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    library = settings.libraries["lib"]
    # Given 30 files, and an index saving its cursor every 4 files that is stopped after 10
    for number in range(30):
        (library.path / f"f{number:02d}.jpg").write_bytes(os.urandom(2000))
    monkeypatch.setattr(library_index, "BATCH", 4)

    def stop_after_ten(done: int, total: int, done_bytes: int, total_bytes: int) -> None:
        if done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index_library(store, library, stop_after_ten)
    assert not store.index_complete("lib")
    # When it runs again
    run = index_library(store, library)
    # Then it starts after the last saved batch (8 files done) instead of from the start
    assert run.complete and run.files == 22 and run.hashed == 22
    assert all(store.content(sha(p.read_bytes())) for p in library.path.iterdir())


def test_arrivals_wait_for_a_first_index_but_not_for_an_empty_library(
        settings: Settings, store: RedisStateStore, corpus_dir: Path) -> None:
    # Given an empty library: a new library has nothing to index, so nothing waits
    assert first_index_hold(store, settings, "cam") is None
    assert store.index_complete("lib")
    # Given another deployment's library that holds photos and was never indexed
    store.client.delete(store.key("libindex"))
    _prefill(settings.libraries["lib"].path, corpus_dir)
    # Then a file arriving for it waits, and says why
    hold = first_index_hold(store, settings, "cam")
    assert hold is not None and "library 'lib' is being indexed for the first time" in hold.reason
    # When the index is complete, nothing waits any more
    index_library(store, settings.libraries["lib"])
    assert first_index_hold(store, settings, "cam") is None


def test_the_walk_skips_temp_names_of_copies_under_way(tmp_path: Path) -> None:
    # Given a library with one photo and a copy under way under our temp name
    (tmp_path / "a.jpg").write_bytes(b"1")
    (tmp_path / ".mediacourier-0123-abc.tmp").write_bytes(b"2")
    # Then only the photo is walked
    assert [rel for rel, _ in walk_library(str(tmp_path))] == ["a.jpg"]


def test_an_indexed_library_file_makes_the_same_photo_a_duplicate(
        rig: Rig, corpus_dir: Path) -> None:
    # Given a library already holding a corpus photo mediacourier did not place, indexed
    photo = (corpus_dir / "jpg" / "Nikon_D70.jpg").read_bytes()
    (rig.lib / "old").mkdir()
    (rig.lib / "old" / "DSC_0001.jpg").write_bytes(photo)
    index_library(rig.store, rig.ctx.settings.libraries["lib"])
    # When the same photo arrives under another name
    rig.put("IMG_9999.jpg", photo)
    job = rig.ingest("IMG_9999.jpg")
    # Then it is a duplicate of the library's file and is not imported again
    assert job.outcome == Outcome.DUPLICATE and job.duplicate_of == "lib/old/DSC_0001.jpg"
    assert _tree(rig.lib) == {"old/DSC_0001.jpg": photo}
