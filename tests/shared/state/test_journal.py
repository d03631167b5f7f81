"""Journal entries read back with their types (shared/state/journal.py): what `history
--format json` emits."""

from __future__ import annotations

from datetime import datetime

import fakeredis

from shared.state import RedisStateStore, typed_entry


def test_entries_come_back_typed_but_names_stay_text(fake_redis: fakeredis.FakeRedis) -> None:
    # Given a file called "2024" (a name that looks like a number) and a reconcile's summary
    store = RedisStateStore(fake_redis, "journal")
    store.journal("ingested", source="inbox", path="2024", dest="2024", bytes=12, copied=0,
                  seconds="0.500", timings='{"hash_file": 0.1}')
    store.journal("reconciled", source="inbox", scanned=3, seconds=0.25)
    # When they are read back typed
    ingested, reconciled = (typed_entry(e) for e in store.read_journal())
    # Then names stay strings, numbers are numbers, flags booleans, JSON objects objects
    assert ingested["path"] == "2024" and ingested["dest"] == "2024"
    assert ingested["bytes"] == 12 and ingested["seconds"] == 0.5
    assert ingested["copied"] is False and ingested["timings"] == {"hash_file": 0.1}
    assert reconciled["scanned"] == 3 and reconciled["seconds"] == 0.25
    # … and the time is ISO 8601 with its zone, to the millisecond
    at = datetime.fromisoformat(ingested["at"])
    assert at.tzinfo is not None and abs(at.timestamp() - float(
        store.read_journal()[0]["at"])) < 0.001
