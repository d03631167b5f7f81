"""End to end: the camera corpus into a library on an SSH target (a real sshd on loopback),
through real Celery worker and watcher processes, over SFTP and over rsync."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.sshd import SshServer
from shared.media.ignore import is_sidecar
from tests.e2e.corpus import lay_corpus, library_contents, media_files, unique_image_hashes
from tests.e2e.harness import Deployment, wait_for
from tests.shared.ssh_helpers import rsync_differences


def configure(deployment: Deployment, sshd: SshServer, kind: str) -> tuple[Path, Path]:
    """A move-mode upload folder feeding a library that lives on the sshd's host."""
    source, remote = deployment.folder("uploads"), deployment.root / "nas" / "photo"
    remote.mkdir(parents=True)
    deployment.top = {"retry_backoff_max": 2, "max_retries": 30}
    deployment.tables = {
        "sources.phone": {"path": str(source), "library": "photos", "stability": "0.5s"},
        "libraries.photos": {"path": "photo", "target": "nas"},
        "targets.nas": {"kind": kind, "host": sshd.host, "port": sshd.port, "user": sshd.user,
                        "key_file": str(sshd.key_file), "known_hosts": str(sshd.known_hosts),
                        "root": str(remote.parent), "parallel": 2, "timeout": 5},
    }
    deployment.write_config()
    return source, remote


def assert_library_matches(source_laid: dict[str, str], source: Path, remote: Path,
                           corpus_dir: Path) -> None:
    """Each unique image exactly once on the target, every file byte-identical to the corpus
    file it came from (checked by rsync's checksums), no temporary files left."""
    in_library = library_contents(remote)
    images = [sha for rel, sha in in_library.items() if not is_sidecar(rel)]
    assert sorted(images) == sorted(unique_image_hashes(source_laid))
    assert not list(remote.rglob(".mediacourier-*")), "no temporary file left behind"
    # Layout 'keep': the library is a subset of what was laid down, at the same paths.
    laid_copy = source.parent / "laid"
    laid_copy.mkdir(exist_ok=True)
    subprocess.run(["cp", "-a", f"{corpus_dir}/.", str(laid_copy)], check=True)
    extra = {rel for rel in source_laid if rel.startswith("renamed copies/") or
             rel.endswith(".xmp")}
    missing = [rel for rel in rsync_differences(remote, laid_copy) if rel not in extra]
    assert missing == [], "library files that differ from the corpus"


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_corpus_lands_on_the_target_verified(kind: str, deployment: Deployment, sshd: SshServer,
                                             corpus_dir: Path) -> None:
    # Given a library on an SSH target, a worker and the watcher
    source, remote = configure(deployment, sshd, kind)
    deployment.start_worker(concurrency=2)
    deployment.start_watcher()
    # When the corpus (and renamed copies of part of it) lands in the upload folder
    laid = lay_corpus(corpus_dir, source)
    wait_for(lambda: len(deployment.events("ingested")) + len(deployment.events("duplicate"))
             >= len(laid), 150, "a journal entry for every file")
    # Then every unique image is on the target once, verified, and its source released
    assert_library_matches(laid, source, remote, corpus_dir)
    left = {p.relative_to(source).as_posix() for p in media_files(source)}
    assert left == {e["path"] for e in deployment.events("duplicate")}, \
        "only duplicates (policy skip) stay in the upload folder"
    assert not deployment.events("failed")


def test_sshd_stopped_mid_ingest_then_back(deployment: Deployment, sshd: SshServer,
                                           corpus_dir: Path) -> None:
    # Given an SFTP library and the corpus arriving
    source, remote = configure(deployment, sshd, "sftp")
    deployment.start_worker(concurrency=2)
    deployment.start_watcher()
    laid = lay_corpus(corpus_dir, source)
    wait_for(lambda: len(deployment.events("ingested")) >= 3, 60, "the first files to land")
    # When the NAS goes away mid-ingest (sshd and its sessions killed)
    sshd.stop()
    try:
        # Then the target is shown unreachable in `status`, and no source is released for
        # a copy that did not verify
        wait_for(lambda: "unreachable" in deployment.run_cli("status").stdout, 60,
                 "status to show the target unreachable")
        status = deployment.run_cli("status").stdout
        assert f"127.0.0.1:{sshd.port}" in status
    finally:
        # When it comes back
        sshd.start()
    # Then the retries (with backoff) finish the job: everything verified, nothing lost
    wait_for(lambda: len(deployment.events("ingested")) + len(deployment.events("duplicate"))
             >= len(laid), 150, "a journal entry for every file")
    assert_library_matches(laid, source, remote, corpus_dir)
    assert not deployment.events("failed")
    wait_for(lambda: "target nas" in (out := deployment.run_cli("status").stdout) and
             "unreachable" not in out, 30, "status to show the target healthy again")
