"""Flower with basic auth: real Flower, real HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shared.state.redis_server import free_port
from tests.e2e.harness import REPO, Deployment
from tests.e2e.ops import http_get, start_flower


def test_flower_refuses_requests_without_credentials(deployment: Deployment) -> None:
    # Given a configured deployment and Flower started with credentials in its environment
    deployment.one_source()
    password = "flower-pw-4c1b9"
    flower, port = start_flower(deployment, f"admin:{password}")
    base = f"http://127.0.0.1:{port}"

    # When / and /api/workers are fetched without credentials, or with wrong ones
    # Then Flower answers 401
    for path in ("/", "/api/workers", "/tasks"):
        assert http_get(base + path)[0] == 401, path
        assert http_get(base + path, auth="admin:wrong")[0] == 401, path
    # … and 200 with the right ones
    for path in ("/", "/api/workers"):
        status, body = http_get(base + path, auth=f"admin:{password}")
        assert status == 200, (path, body[:300])
    # … the password never appears on Flower's command line nor in its log
    cmdline = Path(f"/proc/{flower.popen.pid}/cmdline").read_bytes()
    assert password.encode() not in cmdline
    assert password not in flower.output()


def test_flower_beyond_loopback_without_credentials_does_not_start(
    deployment: Deployment,
) -> None:
    # Given a configured deployment, and no FLOWER_BASIC_AUTH anywhere
    deployment.one_source()
    env = {k: v for k, v in deployment.env().items() if not k.startswith("FLOWER_")}
    # When Flower is started by hand on every interface
    done = subprocess.run(deployment.celery("flower", "--address=0.0.0.0",
                                            f"--port={free_port()}"),
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    # Then it refuses to start, and says what to do
    assert done.returncode != 0
    assert "Flower would listen on '0.0.0.0' without credentials" in done.stdout + done.stderr
