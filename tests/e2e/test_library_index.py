"""End to end: what a library already held counts for dedupe, through real workers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.e2e.corpus import sha256
from tests.e2e.harness import Deployment, wait_for

PHOTOS = ("Canon_40D.jpg", "Nikon_D70.jpg", "Pentax_K10D.jpg", "Sony_HDR-HC3.jpg",
          "Olympus_C8080WZ.jpg", "Fujifilm_FinePix_E500.jpg", "Kodak_CX7530.jpg",
          "Panasonic_DMC-FZ30.jpg", "Ricoh_Caplio_RR330.jpg", "Canon_PowerShot_S40.jpg")
NEW = ("Nikon_COOLPIX_P1.jpg", "Reconyx_HC500_Hyperfire.jpg")


def _library_files(library: Path) -> dict[str, str]:
    return {p.relative_to(library).as_posix(): sha256(p) for p in library.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def test_photos_already_in_the_library_are_not_imported_again_under_other_names(
        deployment: Deployment, corpus_dir: Path) -> None:
    # Given a library that already holds ten corpus photos mediacourier never placed
    source, library = deployment.one_source(stability="0.3s", mode="move")
    for index, name in enumerate(PHOTOS):
        (library / "old" / str(2000 + index)).mkdir(parents=True)
        shutil.copy2(corpus_dir / "jpg" / name, library / "old" / str(2000 + index) / name)
    before = _library_files(library)
    deployment.start_worker(concurrency=2)
    deployment.start_watcher()
    # When the same ten arrive under other names (as a phone names them), with two new photos
    for index, name in enumerate(PHOTOS + NEW):
        shutil.copy2(corpus_dir / "jpg" / name, source / f"IMG_{1000 + index}.JPG")
    wait_for(lambda: len(deployment.events("duplicate")) + len(deployment.events("ingested"))
             >= len(PHOTOS + NEW), 120, "an outcome for every arrival")
    # Then none of the ten was imported again: the library holds its old files, unchanged,
    # and the two new photos only
    after = _library_files(library)
    assert {rel: h for rel, h in after.items() if rel in before} == before
    added = {rel: h for rel, h in after.items() if rel not in before}
    assert sorted(added.values()) == sorted(sha256(corpus_dir / "jpg" / n) for n in NEW)
    assert len(deployment.events("duplicate")) == len(PHOTOS)
    # … the library was indexed once, before any claim, and every arrival was handled
    assert len(deployment.events("library-indexed")) == 1
    assert not deployment.events("failed")


def test_index_by_hand_shows_its_count_and_a_second_run_reads_nothing(
        deployment: Deployment, corpus_dir: Path) -> None:
    # Given a library of corpus photos (and a stale temp of ours, which is not indexed)
    _, library = deployment.one_source()
    for name in PHOTOS[:5]:
        shutil.copy2(corpus_dir / "jpg" / name, library / name)
    (library / ".mediacourier-0000-abc.tmp").write_bytes(os.urandom(100))
    # When it is indexed by hand, twice
    first = deployment.run_cli("index", "lib")
    second = deployment.run_cli("index", "lib")
    # Then the first hashes the five photos and the second finds them cached
    assert first.returncode == 0, first.stderr
    assert "5 files looked at, 5 hashed, 5 new" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "5 files looked at, 0 hashed, 0 new" in second.stdout
    store = deployment.store()
    assert store.index_complete("lib")
    assert all(store.content(sha256(library / n)) for n in PHOTOS[:5])


def test_index_of_an_unknown_library_is_one_line(deployment: Deployment) -> None:
    deployment.one_source()
    done = deployment.run_cli("index", "nope")
    assert done.returncode == 2
    assert done.stderr.strip() == ("mediacourier: no library named 'nope'; configured: lib")


def test_sync_indexes_a_library_before_its_first_files(
        deployment: Deployment, corpus_dir: Path) -> None:
    # Given a library holding a corpus photo, and the same photo in the source under another name
    source, library = deployment.one_source(mode="move")
    shutil.copy2(corpus_dir / "jpg" / PHOTOS[0], library / PHOTOS[0])
    shutil.copy2(corpus_dir / "jpg" / PHOTOS[0], source / "IMG_0001.JPG")
    # When the source is synced by hand (no workers running)
    done = deployment.run_cli("sync", "inbox")
    # Then the library was indexed first, and the photo is a duplicate: not imported again
    assert done.returncode == 0, done.stderr
    assert "library lib: indexing what it already holds first" in done.stdout
    assert _library_files(library) == {PHOTOS[0]: sha256(corpus_dir / "jpg" / PHOTOS[0])}
    assert (source / "IMG_0001.JPG").exists()
