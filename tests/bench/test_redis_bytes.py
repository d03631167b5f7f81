"""bench.redis_bytes groups the deployment's keys by kind and divides by the files ingested."""

from __future__ import annotations

from collections import Counter

from bench.redis_bytes import kind_of, report


def test_a_key_is_grouped_by_the_name_after_its_prefix() -> None:
    # Given keys of a deployment's prefix, Then each is grouped by the next part of its name
    assert kind_of("mc:outcome:ab12", "mc") == "outcome"
    assert kind_of("mc:journal", "mc") == "journal"
    assert kind_of("mc", "mc") == "(prefix)"


def test_the_table_gives_bytes_per_file_and_shares() -> None:
    # Given 300 bytes of records and 100 of journal for 2 files
    lines = report(Counter(files=300, journal=100), Counter(files=1, journal=1), files=2)
    # Then each kind is a row in order of size, with its bytes per file and share, then a total
    assert lines[1].split() == ["files", "1", "150", "75.0%"]
    assert lines[2].split() == ["journal", "1", "50", "25.0%"]
    assert lines[-1].split() == ["all", "keys", "2", "200", "100%"]
