"""End to end: the real camera corpus through real worker and watcher processes."""

from __future__ import annotations

import os
from pathlib import Path

from shared.media.ignore import is_sidecar
from tests.e2e.corpus import lay_corpus, library_contents, media_files, unique_image_hashes
from tests.e2e.harness import Deployment, wait_for


def test_corpus_arrives_once_verified_with_sidecars_and_duplicates_archived(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given an upload folder, a library that archives duplicates, and a rescan command
    source, library = deployment.folder("uploads"), deployment.folder("library")
    archive = deployment.folder("duplicates")
    rescans = deployment.root / "rescans.log"
    deployment.tables = {
        "sources.phone": {"path": str(source), "library": "photos", "mode": "move",
                          "stability": "0.5s"},
        "libraries.photos": {"path": str(library), "duplicates": "archive",
                             "archive_path": str(archive), "rescan": ["app"]},
        "rescan.app": {"command": ["sh", "-c", f'echo "$1" >> "{rescans}"', "sh", "{folder}"],
                       "debounce": "2s"},
    }
    deployment.write_config()
    deployment.start_worker(concurrency=2)
    deployment.start_watcher()

    # When the corpus and renamed copies of part of it land in the upload folder
    laid = lay_corpus(corpus_dir, source)
    wait_for(lambda: not media_files(source), 120, "the upload folder to empty")
    wait_for(lambda: len(deployment.events("ingested")) + len(deployment.events("duplicate"))
             >= len(laid), 60, "a journal entry for every file")

    # Then every unique image content is in the library exactly once, byte-identical
    in_library = library_contents(library)
    images = unique_image_hashes(laid)
    library_images = [sha for rel, sha in in_library.items() if not is_sidecar(rel)]
    assert sorted(library_images) == sorted(images), "each unique content exactly once"
    # … duplicates were archived, not lost: library + archive hold every image laid down
    archived = library_contents(archive)
    assert sorted(library_images + list(archived.values())) == sorted(
        sha for rel, sha in laid.items() if not is_sidecar(rel))
    # … sidecars sit beside their image, under the image's name
    for rel, sha in laid.items():
        if is_sidecar(rel):
            stem = rel.rsplit(".", 1)[0]
            assert in_library.get(rel) == sha, f"sidecar {rel} beside its image"
            assert any(r.startswith(stem + ".") and not is_sidecar(r) for r in in_library)
    # … the journal has one outcome per file, duplicates naming what they duplicate
    events = deployment.events("ingested") + deployment.events("duplicate")
    assert sorted(e["path"] for e in events) == sorted(laid)
    assert all(e["duplicate_of"].startswith("photos/") for e in deployment.events("duplicate"))
    # … the non-media files that came with the corpus were left alone
    assert (source / "README.rst").exists()
    # … and the rescan command ran for the changed folders (nested ones merged into a parent)
    wait_for(lambda: deployment.events("rescanned"), 30, "the coalesced rescan")
    scanned = rescans.read_text().splitlines()
    changed = {os.path.dirname(os.path.join(library, rel)) for rel in in_library}
    assert set(scanned) <= changed
    for folder in changed:
        assert any(folder == s or folder.startswith(s + "/") for s in scanned), folder
    assert len(scanned) < len(laid), "rescans are coalesced, not one per file"
    assert not list(library.rglob(".mediacourier-*")), "no temporary file left behind"


def test_rescan_runs_once_per_folder_per_window(deployment: Deployment, corpus_dir: Path) -> None:
    # Given a rescan target with a 4 s debounce window
    source, library = deployment.folder("in"), deployment.folder("lib")
    rescans = deployment.root / "rescans.log"
    deployment.tables = {
        "sources.cam": {"path": str(source), "library": "lib", "stability": "0.3s"},
        "libraries.lib": {"path": str(library), "rescan": ["index"]},
        "rescan.index": {"command": ["sh", "-c", f'echo "$1" >> "{rescans}"', "sh",
                                     "{rel_folder}"], "debounce": "4s"},
    }
    deployment.write_config()
    deployment.start_worker()
    deployment.start_watcher()

    # When 15 files land in three folders at once
    for folder in ("a", "b", "b/nested"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(sorted((corpus_dir / "jpg").glob("*.jpg"))[:15]):
        folder = ("a", "b", "b/nested")[index % 3]
        (source / folder / path.name).write_bytes(path.read_bytes())

    # Then after the window, the command ran once for 'a' and once for 'b' (nested merged)
    wait_for(lambda: len(deployment.events("ingested")) == 15, 60, "15 files ingested")
    wait_for(lambda: rescans.exists() and deployment.events("rescanned"), 20, "a rescan")
    wait_for(lambda: len(rescans.read_text().splitlines()) >= 2, 20, "both folders rescanned")
    assert sorted(rescans.read_text().splitlines()) == ["a", "b"]
