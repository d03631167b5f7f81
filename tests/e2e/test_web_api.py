"""End to end: the web API over a real stack (redis-server, Celery worker, watcher, `mediacourier
web`): counts that move during an ingest, a file's journey, a pause the watcher obeys, a retry
that succeeds, and thumbnails that never land in the library."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.corpus import sha256
from tests.e2e.harness import Deployment, wait_for
from tests.e2e.web_stack import call, start_web


def _source(status: dict, name: str = "inbox") -> dict:
    return next(s for s in status["sources"] if s["name"] == name)


def test_status_counts_move_during_an_ingest_and_thumbnails_stay_out_of_the_library(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a worker, the watcher and the web page, and nothing ingested yet
    source, library = deployment.one_source(stability="0.3s")
    deployment.start_worker()
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    _web, base = start_web(deployment)
    status, first = call("GET", f"{base}/api/status")
    assert status == 200 and _source(first)["today"] == 0 and first["holds"] == []

    # When photos (one HEIC from a phone among them) land in the source
    photos = [*sorted((corpus_dir / "jpg").glob("*.jpg"))[:5],
              corpus_dir / "heic" / "IMG_5195.HEIC"]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)
    seen: list[int] = []

    def arrived() -> bool:
        seen.append(_source(call("GET", f"{base}/api/status")[1])["today"])
        return seen[-1] == len(photos)

    # Then the page's count of today's arrivals climbs to every photo, never backwards
    wait_for(arrived, 90, "the count of arrivals to reach every photo", every=0.2)
    assert seen == sorted(seen) and seen[0] < len(photos)
    final = call("GET", f"{base}/api/status")[1]
    assert final["counts"]["ingested"] == len(photos) and final["failing"] == 0
    newest = _source(final)["newest"]
    assert {n["dest"] for n in newest} <= {p.name for p in photos} and len(newest) == 6
    # … the history holds the same arrivals, typed, newest first
    status, history = call("GET", f"{base}/api/history?event=ingested&limit=100")
    assert status == 200 and history["total"] == len(photos)
    assert all(isinstance(e["bytes"], int) for e in history["entries"])
    assert history["entries"][0]["at"] >= history["entries"][-1]["at"]
    # … and a thumbnail of the HEIC is a JPEG, cached in the data dir, not in the library
    status, image = call("GET", f"{base}/thumbs/lib/IMG_5195.HEIC")
    assert status == 200 and image[:3] == b"\xff\xd8\xff"
    assert sorted(p.name for p in library.rglob("*") if p.is_file()) == sorted(
        p.name for p in photos)
    assert list((deployment.root / "data" / "thumbs").rglob("*.jpg"))
    assert call("GET", f"{base}/thumbs/lib/..%2F..%2Fetc%2Fpasswd")[0] == 404


def test_search_a_file_by_name_or_sha_and_read_its_journey(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a photo ingested by a real worker
    source, library = deployment.one_source(stability="0.3s")
    deployment.start_worker()
    deployment.start_watcher()
    photo = sorted((corpus_dir / "jpg").glob("*.jpg"))[0]
    shutil.copy2(photo, source / photo.name)
    wait_for(lambda: deployment.events("ingested"), 60, "the ingest")
    _web, base = start_web(deployment)

    # When it is searched by a part of its name, and by the start of its sha256
    status, by_name = call("GET", f"{base}/api/files?q={photo.stem[:6]}")
    _, by_sha = call("GET", f"{base}/api/files?q={sha256(photo)[:10]}")

    # Then both find it, with its journey: ingested, every stage with its host, where it is now
    assert status == 200 and [f["path"] for f in by_name["files"]] == [photo.name]
    assert [f["path"] for f in by_sha["files"]] == [photo.name]
    found = by_name["files"][0]
    assert found["sha256"] == sha256(photo) and found["state"] == "ingested"
    assert [e["event"] for e in found["events"]] == ["ingested"]
    assert {"hash_file", "transfer_file", "verify_copy"} <= set(found["events"][0]["hosts"])
    assert str(library / photo.name) in found["now"] and found["failure"] is None
    # … and a name that matches nothing is an empty answer, not an error
    assert call("GET", f"{base}/api/files?q=no-such-photo")[1]["files"] == []


def test_pause_a_source_and_the_watcher_holds_until_resume(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a worker, the watcher and the web page
    source, library = deployment.one_source(stability="0.3s")
    deployment.start_worker()
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    _web, base = start_web(deployment)

    # When the source is paused from the page and a photo lands
    status, paused = call("POST", f"{base}/api/sources/inbox/pause")
    assert status == 200 and paused["paused"] and paused["changed"]
    photo = sorted((corpus_dir / "jpg").glob("*.jpg"))[1]
    shutil.copy2(photo, source / photo.name)

    # Then the watcher leaves it where it is, and the status says why
    wait_for(lambda: "left for the reconcile at resume" in watcher.output(), 30,
             "the watcher to hold the photo")
    assert (source / photo.name).exists() and not any(library.iterdir())
    status_now = call("GET", f"{base}/api/status")[1]
    assert _source(status_now)["paused"] and "inbox" in _source(status_now)["hold"]
    assert [(h["kind"], h["name"]) for h in status_now["holds"]] == [("source", "inbox")]

    # When it is resumed from the page
    status, resumed = call("POST", f"{base}/api/sources/inbox/resume")
    assert status == 200 and resumed["reconciling"] == ["inbox"]

    # Then the photo arrives, byte-identical, and the pause and resume are in the history
    wait_for(lambda: (library / photo.name).exists(), 60, "the photo to arrive")
    assert sha256(library / photo.name) == sha256(photo)
    events = [e["event"] for e in call("GET", f"{base}/api/history")[1]["entries"]]
    assert "paused" in events and "resumed" in events
    assert call("POST", f"{base}/api/sources/nosuch/pause")[0] == 404


def test_retry_a_failure_from_the_page_and_it_succeeds(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a worker that file permissions apply to, and a photo it may not read: it fails
    source, library = deployment.one_source(stability="0.3s")
    photo = sorted((corpus_dir / "jpg").glob("*.jpg"))[2]
    shutil.copy2(photo, source / photo.name)
    (source / photo.name).chmod(0o000)
    deployment.restricted = True
    deployment.start_worker()
    deployment.start_watcher()
    wait_for(lambda: deployment.events("failed"), 60, "the failure")
    _web, base = start_web(deployment)
    status, failing = call("GET", f"{base}/api/failures")
    assert status == 200 and failing["count"] == 1
    failure = failing["failures"][0]
    assert failure["id"] == f"inbox/{photo.name}" and "Permission denied" in failure["reason"]

    # When the cause is fixed and the failure is retried from the page
    (source / photo.name).chmod(0o644)
    status, retried = call("POST", f"{base}/api/failures/{failure['id']}/retry")

    # Then it is queued, arrives byte-identical, and no longer fails
    assert status == 200 and retried["queued"], retried
    wait_for(lambda: deployment.events("ingested"), 60, "the retried photo to be ingested")
    assert sha256(library / photo.name) == sha256(photo)
    wait_for(lambda: call("GET", f"{base}/api/failures")[1]["count"] == 0, 10,
             "the failure to clear")
    # … and a retry of a file that is not failing is a 404 with the reason
    status, missing = call("POST", f"{base}/api/failures/inbox/nothing.jpg/retry")
    assert status == 404 and "no failing file" in missing["detail"]


def test_sync_is_queued_through_celery_and_a_target_test_reports_doctor_checks(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given photos already in the source, a worker but no watcher, and the web page
    source, library = deployment.one_source(stability="0.3s")
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:3]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)
    deployment.start_worker()
    _web, base = start_web(deployment)

    # When a sync of the source is asked for
    status, queued = call("POST", f"{base}/api/sources/inbox/sync")

    # Then it answers with a Celery task id at once, and the workers carry the photos over
    assert status == 200 and len(queued["task_id"]) == 36
    wait_for(lambda: len(deployment.events("ingested")) == len(photos), 60, "the sync")
    assert sorted(p.name for p in library.iterdir()) == sorted(p.name for p in photos)
    # … and testing the library runs doctor's check for it: writable, ok
    status, tested = call("POST", f"{base}/api/targets/lib/test")
    assert status == 200 and tested["ok"]
    assert tested["checks"] == [{"check": "library lib", "ok": True,
                                 "detail": f"{library} is writable"}]
    # … and with the library's folder gone (a NAS share not mounted), the test says why
    away = library.rename(library.with_name("lib-unmounted"))
    status, broken = call("POST", f"{base}/api/targets/lib/test")
    away.rename(library)
    assert status == 200 and not broken["ok"]
    assert "No such file or directory" in broken["checks"][0]["detail"]
    assert call("POST", f"{base}/api/rescan/lib/test")[0] == 404


def test_healthz_logs_and_the_openapi_schema_document_every_route(
    deployment: Deployment,
) -> None:
    # Given the web page of a deployment whose processes keep log files in the data dir
    deployment.one_source()
    logs = deployment.root / "data" / "logs"
    web, base = start_web(deployment, env={"MEDIACOURIER_LOG_DIR": str(logs)})

    # When its health, logs and schema are read
    health = call("GET", f"{base}/healthz")
    _, schema = call("GET", f"{base}/openapi.json")
    wait_for(lambda: (logs / "web.log").exists(), 10, "the web process's log file")
    (logs / "worker.log").write_text("".join(f"line {i}\n" for i in range(300)))
    status, lines = call("GET", f"{base}/api/logs?lines=5")

    # Then health is ok, the logs are the last lines per process, and every route is documented
    assert health == (200, {"ok": True, "redis": "ok"})
    assert status == 200 and lines["worker"] == [f"line {i}" for i in range(295, 300)]
    assert "web" in lines
    routes = {(method.upper(), path) for path, item in schema["paths"].items()
              for method in item}
    assert routes == {
        ("GET", "/healthz"), ("GET", "/api/status"), ("GET", "/api/files"),
        ("GET", "/api/history"), ("GET", "/api/failures"),
        ("POST", "/api/failures/{failure_id}/retry"), ("POST", "/api/{kind}/{name}/pause"),
        ("POST", "/api/{kind}/{name}/resume"), ("POST", "/api/sources/{name}/sync"),
        ("POST", "/api/mirrors/{name}/run"), ("POST", "/api/rescan/{name}/test"),
        ("POST", "/api/targets/{name}/test"), ("GET", "/api/logs")}
    assert all(item[m].get("summary") for item in schema["paths"].values() for m in item)
    # … and when Redis goes away, the health check says so (503) instead of hanging
    assert deployment.redis is not None
    deployment.redis.stop()
    status, down = call("GET", f"{base}/healthz")
    assert status == 503 and down["ok"] is False
    assert web.alive()
