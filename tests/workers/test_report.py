"""`history` and `status` output (workers/report.py): rows people can read whatever the width
of the terminal or pipe, values programs can parse, and counts of what happened."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path

import fakeredis
import pytest
from rich.console import Console

from shared.config import build_settings
from shared.mirror import Conflict, ConflictBook
from shared.scrub import ScrubLedger
from shared.state import RedisStateStore
from shared.transfer import RemoteEntry
from workers.hosts import print_host_status
from workers.ops import cmd_pause
from workers.report import print_history, print_status

LONG = "2024/Summer holidays in the mountains/Day 3 - the long walk/IMG_20240713_101500.jpg"


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    store = RedisStateStore(fake_redis, "report")
    store.finish("inbox", LONG, event="ingested", journal={
        "source": "inbox", "path": LONG, "library": "library", "dest": LONG, "bytes": 889829,
        "copied": 1, "seconds": "0.312", "hosts": '{"hash_file": "w1@vm"}'})
    store.finish("inbox", "bad\nname\x1b[31m[red].jpg", event="failed", failure="unreadable",
                 journal={"source": "inbox", "path": "bad\nname\x1b[31m[red].jpg",
                          "reason": "unreadable"})
    store.set_paused("source", "inbox", True)
    store.journal("paused", kind="source", name="inbox")
    store.journal("resumed", kind="source", name="inbox")
    store.journal("rescanned", target="photoprism", folders="/lib/2024\n/lib/2025", files=3)
    return store


def _table(store: RedisStateStore) -> list[str]:
    out = io.StringIO()
    print_history(store, "table", 100, Console(file=out, soft_wrap=True))
    return out.getvalue().splitlines()


def test_piped_history_keeps_every_row_on_one_line_at_full_width(
        store: RedisStateStore) -> None:
    # Given a journal with a long path; When history is piped (not a terminal)
    lines = _table(store)
    # Then the long path is whole on one line, though wider than 80 columns
    (row,) = [line for line in lines if LONG in line]
    assert len(row) > 160
    # … the file (about) and where it went (where)
    assert f"inbox:{LONG}" in row and f"library:{LONG}" in row
    assert "889.8 kB" in row
    # … and each of the five operations is one row: 5 rows, a title and 4 border lines
    assert len(lines) == 5 + 1 + 4, "\n".join(lines)


def test_a_control_character_in_a_name_is_escaped_not_obeyed(store: RedisStateStore) -> None:
    lines = _table(store)
    (row,) = [line for line in lines if "failed" in line]
    assert "inbox:bad\\nname\\x1b[31m[red].jpg" in row and "unreadable" in row
    assert "\x1b" not in "".join(lines)


def test_every_row_says_what_it_is_about(store: RedisStateStore) -> None:
    rows = {line.split("│")[2].strip(): line.split("│")[3].strip()
            for line in _table(store) if line.startswith("│")}
    assert rows["paused"] == "source inbox"
    assert rows["resumed"] == "source inbox"
    assert rows["rescanned"] == "rescan photoprism: /lib/2024 (+1 more)"


def test_json_history_has_typed_values(store: RedisStateStore,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # When history is asked for as JSON
    print_history(store, "json", 100, Console(file=io.StringIO()))
    entries = json.loads(capsys.readouterr().out)
    # Then numbers are numbers, flags booleans, hosts an object, folders a list
    ingested, failed, paused, _, rescanned = entries
    assert ingested["bytes"] == 889829 and ingested["seconds"] == 0.312
    assert ingested["copied"] is True
    assert ingested["hosts"] == {"hash_file": "w1@vm"}
    assert rescanned["folders"] == ["/lib/2024", "/lib/2025"] and rescanned["files"] == 3
    assert paused["name"] == "inbox" and failed["path"] == "bad\nname\x1b[31m[red].jpg"
    # … and times are ISO 8601 with their zone
    assert datetime.fromisoformat(ingested["at"]).tzinfo is not None


def test_csv_history_starts_with_a_header(store: RedisStateStore,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    print_history(store, "csv", 100, Console(file=io.StringIO()))
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("at,event,source,path,dest,duplicate_of,bytes,seconds,"
                                   "reason,host,about")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["about"] for r in rows][2:] == ["source inbox", "source inbox",
                                              "rescan photoprism: /lib/2024 (+1 more)"]
    assert rows[0]["bytes"] == "889829"
    assert datetime.fromisoformat(rows[0]["at"]).tzinfo is not None


def test_status_counts_one_pause_once_and_failures_once(store: RedisStateStore) -> None:
    # Given one pause, one failed file and one ingested file
    out = io.StringIO()
    # When status is printed
    print_status(Console(file=out, width=200), store, {"w1@vm": []}, [], {"mediacourier": 0})
    text = out.getvalue()
    # Then the pause is one row, and each count is shown once
    assert text.count("paused") == 2, text  # the pause now, and the one pause that happened
    assert "source inbox (since" in text
    lines = [line for line in text.splitlines() if "failed" in line]
    assert len(lines) == 1 and "1 (1 still failing)" in lines[0], text
    assert "count " not in text and "failures " not in text
    assert "1 (889.8 kB)" in text
    assert "failing now: 1 files" in text


def test_pausing_twice_is_one_pause_in_status(redis_url: str, key_prefix: str,
                                              tmp_path: Path) -> None:
    # Given a source, paused and then paused again (and resumed twice)
    (tmp_path / "in").mkdir()
    (tmp_path / "lib").mkdir()
    settings = build_settings({
        "redis_url": redis_url, "key_prefix": key_prefix,
        "sources": {"inbox": {"path": str(tmp_path / "in"), "library": "lib"}},
        "libraries": {"lib": {"path": str(tmp_path / "lib")}}}, None, tmp_path)
    args = argparse.Namespace(kind="source", name="inbox")
    for _ in range(2):
        assert cmd_pause(settings, args) == 0
    store = RedisStateStore.from_url(redis_url, key_prefix)
    # When status counts what happened
    out = io.StringIO()
    print_status(Console(file=out, width=200), store, {}, [], {})
    # Then it is one pause, journaled once
    assert re.search(r"│ paused\s+│ 1 ", out.getvalue()), out.getvalue()
    assert [e["event"] for e in store.read_journal()] == ["paused"]


class _NoWorkersAnswer:
    """What status asks Celery (`control.inspect(...).active_queues()`): no worker answered."""

    def __init__(self) -> None:
        self.control = self

    def inspect(self, timeout: float) -> _NoWorkersAnswer:
        return self

    def active_queues(self) -> dict:
        return {}


def test_status_lists_damaged_scrub_files_and_open_mirror_conflicts(
        fake_redis: fakeredis.FakeRedis, tmp_path: Path) -> None:
    # Given a library with a mirror, a file a scrub found damaged and a file in conflict
    for folder in ("in", "lib", "backup"):
        (tmp_path / folder).mkdir()
    settings = build_settings({
        "sources": {"inbox": {"path": str(tmp_path / "in"), "library": "photos"}},
        "libraries": {"photos": {"path": str(tmp_path / "lib")}},
        "targets": {"disk": {"kind": "local", "root": str(tmp_path / "backup")}},
        "mirrors": {"offsite": {"library": "photos", "target": "disk"}}}, None, tmp_path)
    store = RedisStateStore(fake_redis, "report")
    out = io.StringIO()
    print_host_status(Console(file=out, width=200), _NoWorkersAnswer(), settings, store, 0.1)
    assert "needs a person" not in out.getvalue()  # nothing to settle: no table at all
    ScrubLedger(store, "photos").mark_damaged("2024/IMG_7.jpg", "a" * 64, "b" * 64, 10, 1)
    ConflictBook(store, "offsite", "disk").open_conflicts([Conflict(
        "modified_both", "2024/IMG_9.jpg", RemoteEntry("2024/IMG_9.jpg", 5, 1),
        RemoteEntry("2024/IMG_9.jpg", 6, 2))])
    # When status is printed
    out = io.StringIO()
    print_host_status(Console(file=out, width=200), _NoWorkersAnswer(), settings, store, 0.1)
    text = out.getvalue()
    # Then each is a row naming the file and the command that settles it
    assert re.search(r"damaged \(scrub\)\s+│ photos:2024/IMG_7\.jpg\s+│ "
                     r"mediacourier scrub photos --repair", text), text
    assert re.search(r"conflict \(modified_both\)\s+│ offsite:2024/IMG_9\.jpg\s+│ "
                     r"mediacourier resolve offsite PATH", text), text
