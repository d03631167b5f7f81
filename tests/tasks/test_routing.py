"""The `tasks` app's router and declared queues, against a real Redis: where messages land.

`celery -A tasks` builds its app from MEDIACOURIER_CONFIG, so each check runs in a fresh
interpreter that finds the app as `celery call` and the workers do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import redis

from shared.state import priority_lists
from tests.e2e.harness import REPO, write_toml
from tests.shared.config.test_config_hosts import two_host_config

SEND = """
import json, sys
from celery.app.utils import find_app
app = find_app('tasks')
job = {"source": "inbox", "rel_path": "a.jpg"}
sent = []
def send(name, args, **options):
    try:
        app.send_task(name, args=args, **options)
        sent.append([name, "sent"])
    except Exception as exc:
        sent.append([name, type(exc).__name__ + ": " + str(exc)])
"""


def run_app(tmp_path: Path, redis_url: str, prefix: str, code: str) -> list[Any]:
    raw = two_host_config(tmp_path)
    tables = {f"{kind}.{name}": values for kind in ("sources", "libraries", "rescan", "hosts")
              for name, values in raw[kind].items()}
    config = tmp_path / "mediacourier.toml"
    write_toml(config, {"key_prefix": prefix, "redis_url": redis_url,
                        "data_dir": str(tmp_path / "data")}, tables)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
    env["MEDIACOURIER_CONFIG"] = str(config)
    script = SEND + textwrap.dedent(code) + "\nprint(json.dumps(sent))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def depths(client: redis.Redis, prefix: str) -> dict[str, int]:
    names = [prefix] + [f"{prefix}.{h}.{r}" for h in ("upload", "nas") for r in ("files", "rescan")]
    counts = {name: sum(int(client.llen(lst)) for lst in priority_lists(name)) for name in names}
    return {name: n for name, n in counts.items() if n}


def test_messages_land_in_the_queue_of_the_host_that_reaches_the_files(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    # Given no worker, when tasks are sent by name (as the watcher, beat and `celery call` do)
    sent = run_app(tmp_path, redis_url, key_prefix, """
        send("mediacourier.hash_file", [job])
        send("mediacourier.reconcile", ["scans"])
        send("mediacourier.flush_rescans", ["app"])
        send("mediacourier.record_outcome", [job])
        send("mediacourier.ingest", ["/x/inbox/a.jpg"])
    """)
    assert all(outcome == "sent" for _, outcome in sent), sent
    # Then each Redis list holds exactly the messages routed to it
    assert depths(redis_client, key_prefix) == {
        f"{key_prefix}.upload.files": 1, f"{key_prefix}.nas.files": 1,
        f"{key_prefix}.nas.rescan": 1, key_prefix: 2}


def test_an_explicit_queue_wins_and_a_typo_is_refused(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    # When `celery call --queue` names a declared queue, and then a queue nobody declared
    sent = run_app(tmp_path, redis_url, key_prefix, f"""
        send("mediacourier.hash_file", [job], queue="{key_prefix}.nas.files")
        send("mediacourier.hash_file", [job], queue="{key_prefix}.typo")
        sent.append(["missing", app.conf.task_create_missing_queues])
    """)
    # Then the first goes where it was told, the typo is an error and no list is created
    assert sent[0] == ["mediacourier.hash_file", "sent"]
    assert "QueueNotFound" in sent[1][1] and f"{key_prefix}.typo" in sent[1][1], sent
    assert sent[2] == ["missing", False]
    assert depths(redis_client, key_prefix) == {f"{key_prefix}.nas.files": 1}
    assert not redis_client.exists(f"{key_prefix}.typo")
