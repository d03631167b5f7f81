"""After an unexpected task error every Redis connection of the process is dropped, so a
connection that got out of step with its replies cannot hand wrong answers to later tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.errors import FileBusy, StoreUnavailable
from shared.ingest.context import Context
from shared.state.store import RedisStateStore
from tasks import runtime


def _connected(store: RedisStateStore) -> list[Any]:
    pool = store.client.connection_pool
    return [c for c in pool._available_connections if c._sock is not None]  # noqa: SLF001


@pytest.fixture
def registered(redis_url: str, key_prefix: str, tmp_path: Path) -> Any:
    from shared.config import Settings

    store = RedisStateStore.from_url(redis_url, key_prefix)
    key = object()
    runtime._contexts[id(key)] = Context(Settings(data_dir=tmp_path), store)  # noqa: SLF001
    yield store
    runtime._contexts.pop(id(key))  # noqa: SLF001
    store.client.close()


def test_an_unexpected_error_drops_the_connections(registered: RedisStateStore) -> None:
    # Given a store with a live connection
    registered.client.ping()
    assert _connected(registered)
    # When a task fails with an error that is neither retryable nor permanent
    runtime.drop_connections_after_a_surprise(exception=TypeError("'NoneType' object ..."))
    # Then no connection is left open, and the next command simply reconnects
    assert not _connected(registered)
    assert registered.client.ping() is True


def test_an_expected_failure_keeps_the_connections(registered: RedisStateStore) -> None:
    registered.client.ping()
    runtime.drop_connections_after_a_surprise(exception=FileBusy("held by another worker"))
    assert _connected(registered)


def test_a_reply_of_the_wrong_shape_is_a_store_error(registered: RedisStateStore) -> None:
    # Given a client whose HMGET answers with something that is not a list
    class OutOfStep:
        connection_pool = registered.client.connection_pool

        def hmget(self, *_: Any) -> None:
            return None

    store = RedisStateStore(OutOfStep(), registered.prefix)  # type: ignore[arg-type]
    # Then asking what is paused is a retryable store error, not a crash on None
    with pytest.raises(StoreUnavailable, match="HMGET"):
        store.paused_among(["source:inbox"])
