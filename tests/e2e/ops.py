"""Operating a test deployment: Flower with basic auth, the metrics endpoint, HTTP, Chromium."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from shared.state.redis_server import free_port
from tests.e2e.harness import REPO, Deployment, Proc, wait_for

ARTIFACTS = REPO / "test-artifacts"  # gitignored; CI keeps it as the run's artifacts


def spawn_with_env(dep: Deployment, name: str, argv: list[str], extra: dict[str, str]) -> Proc:
    """Like `Deployment.spawn`, with extra environment (secrets stay off the command line)."""
    log = dep.root / f"{name}.log"
    with log.open("ab") as handle:
        popen = subprocess.Popen(argv, cwd=REPO, env={**dep.env(), **extra}, stdout=handle,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    proc = Proc(name, popen, log)
    dep.procs.append(proc)
    return proc


def http_get(url: str, auth: str | None = None, timeout: float = 5) -> tuple[int, str]:
    """(status, body) of a GET; HTTP errors are answers too."""
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def answers(url: str) -> bool:
    try:
        return http_get(url, timeout=1)[0] > 0
    except OSError:
        return False


def start_flower(dep: Deployment, basic_auth: str) -> tuple[Proc, int]:
    """Real Flower on a free loopback port; the credentials go in FLOWER_BASIC_AUTH."""
    port = free_port()
    argv = dep.celery("flower", "--address=127.0.0.1", f"--port={port}")
    proc = spawn_with_env(dep, "flower", argv, {"FLOWER_BASIC_AUTH": basic_auth})
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthcheck") or not proc.alive(), 60,
             "Flower to answer")
    assert proc.alive(), proc.output()[-3000:]
    return proc, port


def start_metrics(dep: Deployment) -> tuple[Proc, int]:
    port = free_port()
    import sys

    proc = dep.spawn("metrics", [sys.executable, "-m", "workers.cli", "metrics", "--listen",
                                 f"127.0.0.1:{port}"])
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/metrics") or not proc.alive(), 30,
             "the metrics endpoint to answer")
    assert proc.alive(), proc.output()[-3000:]
    return proc, port


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is missing: ./dev test installs it (APT_TEST_PACKAGES)"
    return found


def screenshot(url: str, out: Path, size: str = "1280,900") -> subprocess.CompletedProcess[str]:
    """A headless Chromium screenshot of `url` (flags that work here: see the field notes)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="mc-chromium-") as profile:
        argv = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--screenshot={out}", f"--window-size={size}",
                "--virtual-time-budget=5000", url]
        return subprocess.run(argv, capture_output=True, text=True, timeout=90,
                              env={**os.environ, "HOME": profile})
