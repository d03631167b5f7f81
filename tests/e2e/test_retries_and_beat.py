"""Retries inside the chain, and beat: scheduled reconciles, one scheduler among two."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tests.e2e.harness import Deployment, wait_for


def test_transient_failures_then_success_run_later_stages_exactly_once(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a sidecar whose image sits in the inbox, not yet ingested (no watcher runs)
    deployment.top = {"retry_backoff_max": 2}
    source, library = deployment.one_source()
    worker = deployment.start_worker(loglevel="DEBUG")  # each task's result is in its log
    image = corpus_dir / "jpg" / "Canon_40D.jpg"
    (source / "IMG_1.jpg").write_bytes(image.read_bytes())
    (source / "IMG_1.xmp").write_text("<x:xmpmeta rating='5'/>")

    # When the sidecar is ingested by hand first: its transfer must wait for the image
    deployment.celery_call("mediacourier.ingest", json.dumps([str(source / "IMG_1.xmp")]))
    retries = r"transfer_file inbox:IMG_1\.xmp\[[^]]+\] retry"  # the task's name, the file's
    wait_for(lambda: len(re.findall(retries, worker.output())) >= 2, 30,
             "two retries of the sidecar's transfer")
    assert not (library / "IMG_1.xmp").exists()
    # … and then the image
    deployment.celery_call("mediacourier.ingest", json.dumps([str(source / "IMG_1.jpg")]))

    # Then both arrive, the sidecar beside its image
    wait_for(lambda: len(deployment.events("ingested")) == 2, 30, "both ingested")
    assert (library / "IMG_1.jpg").read_bytes() == image.read_bytes()
    assert (library / "IMG_1.xmp").read_text() == "<x:xmpmeta rating='5'/>"
    # … and the stages after the retried one ran exactly once for the sidecar
    time.sleep(1.0)
    sidecar_events = [e for e in deployment.events() if e.get("path") == "IMG_1.xmp"]
    assert [e["event"] for e in sidecar_events] == ["ingested"]
    log = worker.output()
    for stage in ("verify_copy", "request_rescan", "record_outcome"):
        ran = [line for line in log.splitlines()
               if f"mediacourier.{stage} " in line and "succeeded" in line and "IMG_1.xmp" in line]
        assert len(ran) == 1, f"{stage} ran {len(ran)} times"


def test_two_beats_schedule_once(deployment: Deployment) -> None:
    # Given a reconcile scheduled every 2 s and two beat processes started
    deployment.tables = {"schedules.inbox": {"every": "2s"}}
    deployment.one_source()
    deployment.start_worker()
    first, second = deployment.start_beat("beat1"), deployment.start_beat("beat2")

    # When they have run for a while
    wait_for(lambda: len(deployment.events("reconciled")) >= 4, 40, "four reconciles")
    time.sleep(2)

    # Then exactly one of them sent the reconciles
    sent = [p.output().count("Sending due task reconcile-inbox") for p in (first, second)]
    assert sorted(sent)[0] == 0 and sorted(sent)[1] >= 4, sent
    # … at the configured pace, not twice as often
    reconciles = [float(e["at"]) for e in deployment.events("reconciled")]
    gaps = [b - a for a, b in zip(reconciles, reconciles[1:], strict=False)]
    assert min(gaps) > 1.0, gaps


def test_retries_run_out_into_a_recorded_failure(deployment: Deployment) -> None:
    # Given a sidecar whose image stays in the inbox and is never ingested, three retries
    deployment.top = {"retry_backoff_max": 1, "max_retries": 3}
    source, library = deployment.one_source()
    worker = deployment.start_worker()
    (source / "IMG_9.jpg").write_bytes(b"image bytes")
    (source / "IMG_9.xmp").write_text("<x:xmpmeta/>")

    # When only the sidecar is ingested
    deployment.celery_call("mediacourier.ingest", json.dumps([str(source / "IMG_9.xmp")]))

    # Then after its retries it is recorded as failed, with the reason, and kept in the inbox
    failed = wait_for(lambda: deployment.events("failed"), 60, "the failure")
    assert failed[0]["path"] == "IMG_9.xmp"
    assert "gave up after 3 retries" in failed[0]["reason"]
    assert "waiting for its image" in failed[0]["reason"]
    assert (source / "IMG_9.xmp").exists() and not (library / "IMG_9.xmp").exists()
    retries = r"transfer_file inbox:IMG_9\.xmp\[[^]]+\] retry"
    assert len(re.findall(retries, worker.output())) == 3
    assert "reject requeue" not in worker.output()
