"""Fixtures shared by the whole suite: a real private Redis, a fake one, and the photo corpus;
also `celery_side`, for the tests of the deployment files and the README.

Test tiers: a test is marked `e2e` when it lives under tests/e2e or uses (directly or through
another fixture) a fixture that starts a real service; `-m "not e2e"` is the fast tier."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
import redis

from bench.sshd import SshServer
from shared.state.redis_server import EmbeddedRedis
from tests.docs_helpers import celery_side
from tests.fixtures.dockerd import dockerd
from tests.fixtures.syncthing import syncthing_pair
from tests.fixtures.tmpfs import mounted_tmpfs

__all__ = ["celery_side", "dockerd", "syncthing_pair"]

CORPUS_DIR = Path(__file__).parents[2] / "shared" / "corpus" / "exif-samples"
E2E_DIR = Path(__file__).parent / "e2e"
# Fixtures that start a real redis-server, sshd, dockerd, Syncthing pair or tmpfs mount. A test
# that starts one without a fixture carries `@pytest.mark.e2e` itself.
SERVICE_FIXTURES = frozenset({
    "redis_server", "redis_url", "redis_client",  # the session redis-server
    "sshd_server", "sshd", "dockerd", "syncthing_pair", "tiny_tmpfs",
    "dep", "deployment",  # a Deployment with its own redis-server (tests/workers, tests/e2e)
})


def pytest_configure(config: pytest.Config) -> None:
    """`up` remembers its deployment under $XDG_STATE_HOME, and commands look for a config under
    $XDG_CONFIG_HOME: point both, for this process and every child, at folders of the run's own,
    so the suite neither reads nor writes the user's."""
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        os.environ[name] = tempfile.mkdtemp(prefix=f"mc-tests-{name.lower()}-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.path.is_relative_to(E2E_DIR) or fixtures & SERVICE_FIXTURES:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real redis-server for the session, on a free port, every write fsynced."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), fsync_always=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def key_prefix() -> str:
    """A key prefix no other test uses: tests share one server, not their keys."""
    return f"mc-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    """The session server's URL; isolate your keys with `key_prefix`."""
    if not redis_server.running:  # a test that stopped it must not break the next one
        redis_server.start()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str, key_prefix: str) -> Iterator[redis.Redis]:
    """A client of the session server that deletes this test's `key_prefix` keys afterwards."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    keys = list(client.scan_iter(match=f"{key_prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def fake_redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared EXIF sample photos (../shared/corpus/exif-samples next to the repo)."""
    if not CORPUS_DIR.is_dir():
        pytest.fail(f"photo corpus missing: {CORPUS_DIR} (copy ../shared next to the repo)")
    return CORPUS_DIR


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted under tmp_path (we run as root), unmounted afterwards."""
    with mounted_tmpfs(tmp_path / "tiny", "256k") as mount_point:
        yield mount_point


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """One real sshd for the session (127.0.0.1, free port, own host key, key auth for root)."""
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sshd(sshd_server: SshServer) -> Iterator[SshServer]:
    """The session sshd, running; a test that stopped it gets it restarted afterwards."""
    sshd_server.start()
    yield sshd_server
    sshd_server.start()
