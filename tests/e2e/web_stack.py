"""The web process of a test deployment, and HTTP requests to it (JSON in, JSON out)."""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from shared.state.redis_server import free_port
from tests.e2e.harness import Deployment, Proc, wait_for
from tests.e2e.ops import spawn_with_env


def start_web(dep: Deployment, host: str = "127.0.0.1",
              env: dict[str, str] | None = None) -> tuple[Proc, str]:
    """`mediacourier web` on a free port; returns the process and its base URL once
    /healthz answers 200."""
    port = free_port()
    argv = [sys.executable, "-m", "workers.cli", "web", "--listen", f"{host}:{port}"]
    proc = spawn_with_env(dep, "web", argv, env or {})
    base = f"http://{host}:{port}"
    wait_for(lambda: _healthy(base) or not proc.alive(), 60, "the web page to answer")
    assert proc.alive(), proc.output()[-3000:]
    return proc, base


def _healthy(base: str) -> bool:
    try:
        return call("GET", f"{base}/healthz", timeout=1)[0] == 200
    except OSError:
        return False


def call(method: str, url: str, auth: str | None = None, token: str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 15) -> tuple[int, Any]:
    """(status, decoded JSON or text) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body, kind = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, body, kind = error.code, error.read(), error.headers
    if "json" in (kind.get("content-type") or ""):
        return status, json.loads(body)
    return status, body if "image" in (kind.get("content-type") or "") else body.decode()
