"""The store the state tests run against: fakeredis and the real server, each test twice."""

from __future__ import annotations

import uuid

import pytest
import redis

from shared.state.store import RedisStateStore


@pytest.fixture(params=["fakeredis", pytest.param("redis-server", marks=pytest.mark.e2e)])
def store(request: pytest.FixtureRequest) -> RedisStateStore:
    """The same store API over fakeredis and over the real server (isolated by key prefix)."""
    if request.param == "fakeredis":
        client: redis.Redis = request.getfixturevalue("fake_redis")
        return RedisStateStore(client, f"mc-fake-{uuid.uuid4().hex[:6]}")
    client = request.getfixturevalue("redis_client")
    return RedisStateStore(client, request.getfixturevalue("key_prefix"))
