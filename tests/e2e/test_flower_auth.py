"""Flower with basic auth: real Flower, real HTTP."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Deployment
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
