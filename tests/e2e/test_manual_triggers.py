"""`celery -A tasks call …` as a user types it: manual ingest, reconcile, refused paths."""

from __future__ import annotations

import json
from pathlib import Path

from celery.result import AsyncResult

from tests.e2e.harness import Deployment, wait_for


def _setup(deployment: Deployment) -> tuple[Path, Path]:
    source, library = deployment.one_source("inbox", "library", stability="0.2s")
    deployment.start_worker()
    return source, library


def _result(deployment: Deployment, task_id: str) -> AsyncResult:
    from celery import Celery

    app = Celery(broker=deployment.redis.url, backend=deployment.redis.url)
    app.conf.accept_content = app.conf.result_accept_content = ["json"]
    result = AsyncResult(task_id, app=app)
    wait_for(lambda: result.ready(), 30, f"task {task_id}")
    return result


def test_celery_call_ingests_one_file(deployment: Deployment, corpus_dir: Path) -> None:
    # Given a worker and a file in the inbox (no watcher running)
    source, library = _setup(deployment)
    original = corpus_dir / "jpg" / "Canon_40D.jpg"
    (source / "Canon 40D.jpg").write_bytes(original.read_bytes())

    # When the user triggers it by hand
    done = deployment.celery_call("mediacourier.ingest",
                                  json.dumps([str(source / "Canon 40D.jpg")]))

    # Then celery prints the task id, and the file arrives byte-identical and leaves the inbox
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.strip().splitlines()[-1]
    assert _result(deployment, task_id).successful()
    wait_for(lambda: deployment.events("ingested"), 30, "the ingest")
    assert (library / "Canon 40D.jpg").read_bytes() == original.read_bytes()
    assert not (source / "Canon 40D.jpg").exists()


def test_celery_call_with_a_path_outside_the_sources_is_refused(deployment: Deployment) -> None:
    # Given a worker
    _setup(deployment)
    before = Path("/etc/passwd").read_bytes()

    # When someone asks it to ingest /etc/passwd, or sneaks out of the inbox with '..'
    refused = []
    for path in ("/etc/passwd", str(deployment.root / "inbox" / ".." / "mediacourier.toml")):
        done = deployment.celery_call("mediacourier.ingest", json.dumps([path]))
        refused.append(_result(deployment, done.stdout.strip().splitlines()[-1]))

    # Then both tasks fail with a message naming the path, and nothing was touched
    for result, path in zip(refused, ("/etc/passwd", "mediacourier.toml"), strict=True):
        assert result.failed()
        assert "outside every configured source" in str(result.result)
        assert path in str(result.result)
    assert Path("/etc/passwd").read_bytes() == before
    assert (deployment.root / "mediacourier.toml").exists()
    assert [e["path"] for e in deployment.events("refused")][0] == "/etc/passwd"


def test_celery_call_reconcile_catches_up_on_files_dropped_while_nothing_watched(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given files that arrived while no watcher ran (an old mtime: they are settled)
    source, library = _setup(deployment)
    for path in sorted((corpus_dir / "jpg" / "gps").glob("*.jpg")):
        (source / path.name).write_bytes(path.read_bytes())

    # When the user runs a reconcile by hand
    done = deployment.celery_call("mediacourier.reconcile", '["inbox"]')
    result = _result(deployment, done.stdout.strip().splitlines()[-1])

    # Then it reports what it queued, and every file arrives
    assert result.successful(), result.result
    queued = result.result["queued"] + result.result["settling"]
    assert queued == 9
    wait_for(lambda: len(deployment.events("ingested")) == 9, 60, "nine files ingested")
    assert sorted(p.name for p in library.iterdir()) == sorted(
        p.name for p in (corpus_dir / "jpg" / "gps").glob("*.jpg"))


def test_reconcile_of_an_unknown_source_fails_clearly(deployment: Deployment) -> None:
    _setup(deployment)
    done = deployment.celery_call("mediacourier.reconcile", '["nope"]')
    result = _result(deployment, done.stdout.strip().splitlines()[-1])
    assert result.failed()
    assert "no source named 'nope'" in str(result.result)


def test_celery_call_of_jobs_leaving_the_inbox_moves_nothing(deployment: Deployment,
                                                            corpus_dir: Path) -> None:
    # Given a worker, a photo outside every source, and a symlinked folder in the inbox that
    # leads to it
    source, library = _setup(deployment)
    original = (corpus_dir / "jpg" / "Canon_40D.jpg").read_bytes()
    outside = deployment.folder("outside") / "photo.jpg"
    outside.write_bytes(original)
    (source / "link").symlink_to(outside.parent)
    size, mtime_ns = len(original), outside.stat().st_mtime_ns

    # When someone sends a batch reaching it by '..' and through the link, a stage task with
    # '..', and a manual ingest through the link
    calls = [
        ("mediacourier.ingest_batch", ["inbox", [["../outside/photo.jpg", size, mtime_ns],
                                                 ["link/photo.jpg", size, mtime_ns]]]),
        ("mediacourier.transfer_file", [{"source": "inbox", "rel_path": "../outside/photo.jpg",
                                         "size": size, "mtime_ns": mtime_ns}]),
        ("mediacourier.ingest", [str(source / "link" / "photo.jpg")]),
    ]
    results = []
    for task, args in calls:
        done = deployment.celery_call(task, json.dumps(args))
        assert done.returncode == 0, done.stderr
        results.append(_result(deployment, done.stdout.strip().splitlines()[-1]))

    # Then the batch refuses both items, the other two tasks fail with the refusal …
    batch, stage, manual = results
    assert batch.successful() and batch.result == {"refused": 2}, batch.result
    assert stage.failed() and "'../outside/photo.jpg'" in str(stage.result)
    assert manual.failed() and "outside every configured source" in str(manual.result)
    # … each refusal is journaled, and the photo is still where it was, byte for byte
    refused = sorted(e["path"] for e in deployment.events("refused"))
    assert refused == sorted(["../outside/photo.jpg", "link/photo.jpg", "../outside/photo.jpg",
                              str(source / "link" / "photo.jpg")])
    assert outside.read_bytes() == original
    assert list(library.rglob("*")) == []
    assert not deployment.events("ingested")
