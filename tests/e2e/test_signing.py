"""End to end: message signing. A worker with signing on runs signed tasks and refuses an
unsigned `celery call`."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from tests.e2e.certs import make_signing_files
from tests.e2e.harness import REPO, Deployment, wait_for, write_toml


def test_signed_worker_runs_signed_tasks_and_refuses_unsigned_ones(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a deployment whose processes sign with a key whose certificate is in the store
    key, cert = make_signing_files(deployment.root / "keys", "courier")
    store_dir = deployment.folder("certs")
    shutil.copy2(cert, store_dir / cert.name)
    source, library = deployment.one_source()
    deployment.tables["security"] = {"signing_key_file": str(key),
                                     "signing_cert_file": str(cert),
                                     "cert_store": str(store_dir)}
    deployment.write_config()
    # … and a second configuration for the same Redis and prefix, without signing
    unsigned = deployment.root / "unsigned.toml"
    tables = {k: v for k, v in deployment.tables.items() if k != "security"}
    assert deployment.redis is not None
    write_toml(unsigned, {"data_dir": str(deployment.folder("data")),
                          "redis_url": deployment.redis.url, "key_prefix": deployment.prefix},
               tables)
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:2]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)
    worker = deployment.start_worker(loglevel="DEBUG")  # "received" lines are DEBUG
    signed_path, unsigned_path = (str(source / p.name) for p in photos)

    # When an unsigned client calls the ingest task
    env = {**deployment.env(), "MEDIACOURIER_CONFIG": str(unsigned)}
    call = subprocess.run(deployment.celery("call", "mediacourier.ingest",
                                            f"--args={json.dumps([unsigned_path])}"),
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert call.returncode == 0, call.stderr

    # Then the worker refuses the message and says so
    wait_for(lambda: "untrusted content" in worker.output(), 30, "the refusal in the log")
    # When a signed client calls it (the signing configuration; `celery call` sends JSON
    # unless told `--serializer auth`)
    signed = subprocess.run(deployment.celery("call", "mediacourier.ingest", "--serializer=auth",
                                              f"--args={json.dumps([signed_path])}"),
                            cwd=REPO, env=deployment.env(), capture_output=True, text=True,
                            timeout=60)
    assert signed.returncode == 0, signed.stderr
    # Then the signed file is ingested …
    wait_for(lambda: deployment.events("ingested"), 30, "the signed ingest")
    time.sleep(1)
    assert [e["path"] for e in deployment.events("ingested")] == [photos[0].name]
    assert (library / photos[0].name).read_bytes() == photos[0].read_bytes()
    # … and the unsigned task never ran: its file is untouched and nothing mentions it
    assert (source / photos[1].name).read_bytes() == photos[1].read_bytes()
    assert not (library / photos[1].name).exists()
    assert photos[1].name not in json.dumps(deployment.events())
    assert f"mediacourier.ingest[{call.stdout.strip()}] received" not in worker.output()
    # … while remote control (`status` pings the workers) still works with signing on
    status = deployment.run_cli("status")
    assert status.returncode == 0 and "w1-" in status.stdout, status.stdout + status.stderr
