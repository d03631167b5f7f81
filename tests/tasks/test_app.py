"""tasks/app.py: what the Celery app hands to kombu's Redis transport, seen on a real channel."""

from __future__ import annotations

from pathlib import Path

from shared.config import build_settings
from tasks.app import create_app


def test_a_dead_worker_holds_the_restore_mutex_a_few_seconds_past_one_sweep(
        tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    # Given workers that sweep for messages of dead workers every 10 s
    settings = build_settings({"redis_url": redis_url, "key_prefix": key_prefix,
                               "restore_interval": 10}, None, tmp_path)
    app = create_app(settings)
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            # Then the sweep's mutex, left behind by a worker killed inside a sweep, lasts 15 s
            # (kombu's default is 300 s, during which no other worker restores anything)
            assert channel.unacked_mutex_expire == 15
            assert channel.unacked_restore_interval == 10
            assert channel.visibility_timeout == settings.visibility_timeout
    finally:
        app.close()
