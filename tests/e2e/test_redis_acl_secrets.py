"""End to end: an ACL user on a real Redis, and no secret in any log, output or Flower page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis

from tests.e2e.harness import Deployment, wait_for
from tests.e2e.ops import http_get, start_flower

REDIS_PASSWORD = "acl-pw-Zq81x"
FLOWER_PASSWORD = "flower-pw-Pp20k"


def test_acl_user_runs_the_pipeline_and_no_secret_leaks(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a Redis whose default user is off and whose only user is an ACL user `courier`
    assert deployment.redis is not None and deployment.redis.port
    admin = deployment.redis.client()
    admin.execute_command("ACL", "SETUSER", "courier", "on", f">{REDIS_PASSWORD}", "~*", "&*",
                          "+@all")
    admin.execute_command("ACL", "SETUSER", "default", "off")
    port = deployment.redis.port
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=port).ping()  # nobody gets in without the user
    deployment.top["redis_url"] = f"redis://courier:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    source, library = deployment.one_source(stability="0.3s")

    # When a worker, the watcher and Flower run on it and photos land
    deployment.start_worker()
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    _flower, flower_port = start_flower(deployment, f"admin:{FLOWER_PASSWORD}")
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:3]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)

    # Then they arrive, through the ACL user
    wait_for(lambda: len(deployment.events("ingested")) == len(photos), 60, "the ingest")
    assert sorted(p.name for p in library.iterdir()) == sorted(p.name for p in photos)
    # … and neither password appears in any process's log, the CLI's output, the journal,
    # the task arguments and results Flower shows, or any process's command line
    texts = {proc.name: proc.output() for proc in deployment.procs}
    for command in (["status"], ["doctor"], ["history", "--format", "json"], ["-v", "status"]):
        done = deployment.run_cli(*command)
        assert done.returncode == 0, done.stderr
        texts[" ".join(command)] = done.stdout + done.stderr
    base = f"http://127.0.0.1:{flower_port}"
    for page in ("/", "/tasks", "/broker", "/api/tasks", "/api/workers"):
        status, body = http_get(base + page, auth=f"admin:{FLOWER_PASSWORD}")
        assert status == 200, page
        texts[f"flower {page}"] = body
    assert "mediacourier.hash_file" in texts["flower /api/tasks"]
    for proc in deployment.procs:
        texts[f"argv {proc.name}"] = Path(f"/proc/{proc.popen.pid}/cmdline").read_text(
            errors="replace")
    for where, text in texts.items():
        assert REDIS_PASSWORD not in text, f"Redis password in {where}"
        assert FLOWER_PASSWORD not in text, f"Flower password in {where}"
    # (the check can fail: Flower's broker page and the worker's banner do show the URL)
    assert f"courier:**@127.0.0.1:{port}" in texts["flower /broker"]
    assert f"courier:**@127.0.0.1:{port}" in texts["w1"]
