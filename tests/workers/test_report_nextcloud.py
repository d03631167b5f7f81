"""`status`, `history --user` and `doctor` for a nextcloud source: per user."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import fakeredis
import pytest
from rich.console import Console

from shared.config import Settings, build_settings
from shared.state import RedisStateStore
from tests.shared.source.nextcloud_helpers import make_data_dir
from workers.hosts import print_host_status
from workers.report import doctor_checks, print_history, run_doctor

UP = "files/InstantUpload"


class _NoWorkersAnswer:
    def __init__(self) -> None:
        self.control = self

    def inspect(self, timeout: float) -> _NoWorkersAnswer:
        return self

    def active_queues(self) -> dict:
        return {}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = make_data_dir(tmp_path, {"alice": [UP], "bob": [UP], "admin": [UP],
                                    "carol": ["files/Photos"]})
    (tmp_path / "lib").mkdir()
    raw = {"sources": {"nc": {"path": str(data), "library": "main", "kind": "nextcloud",
                              "users_exclude": ["admin"]}},
           "libraries": {"main": {"path": str(tmp_path / "lib"), "layout": "{user}/{name}"}}}
    return build_settings(raw, None, tmp_path)


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    store = RedisStateStore(fake_redis, "report-nc")
    for user, name, event in [("alice", "IMG_1.jpg", "ingested"), ("alice", "IMG_2.jpg",
                                                                   "ingested"),
                              ("alice", "IMG_3.jpg", "duplicate"),
                              ("bob", "IMG_4.jpg", "ingested"), ("bob", "bad.jpg", "failed")]:
        rel = f"{user}/{UP}/{name}"
        store.finish("nc", rel, event=event, failure="unreadable" if event == "failed" else None,
                     journal={"source": "nc", "path": rel, "library": "main",
                              "dest": f"{user}/{name}"})
    store.journal("reconciled", source="nc", scanned=5)
    return store


def test_status_counts_each_user_s_files(settings: Settings, store: RedisStateStore) -> None:
    # Given alice's three outcomes and bob's two (one still failing)
    out = io.StringIO()
    # When status is shown
    print_host_status(Console(file=out, width=200), _NoWorkersAnswer(), settings, store, 0.1)
    text = out.getvalue()
    # Then each user has one row with their counts
    assert "per Nextcloud user" in text
    assert re.search(r"nc alice\s*│\s*2 ingested, 1 duplicate\s", text), text
    assert re.search(r"nc bob\s*│\s*1 ingested, 1 failed \(1 still failing\)", text), text


def test_history_user_shows_only_that_user_s_files(
        store: RedisStateStore, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a journal of two users' files and a reconcile
    # When the history of bob is asked for, as JSON
    print_history(store, "json", 100, Console(file=io.StringIO()), user="bob")
    entries = json.loads(capsys.readouterr().out)
    # Then only bob's two files are listed, in order
    assert [(e["event"], e["path"]) for e in entries] == [
        ("ingested", f"bob/{UP}/IMG_4.jpg"), ("failed", f"bob/{UP}/bad.jpg")]
    # … and --limit keeps the last ones of that user
    print_history(store, "json", 1, Console(file=io.StringIO()), user="alice")
    assert [e["path"] for e in json.loads(capsys.readouterr().out)] == [f"alice/{UP}/IMG_3.jpg"]


def test_doctor_says_which_users_were_found_and_which_left_out(settings: Settings) -> None:
    # Given alice and bob with uploads, admin excluded, carol without an InstantUpload
    out = io.StringIO()
    checks = [c for c in doctor_checks(settings, lambda: "ok") if c[0] == "source nc (users)"]
    # When doctor runs that check
    code = run_doctor(checks, Console(file=out, width=300))
    # Then it names the users found and each left out with why
    assert code == 0
    assert out.getvalue().strip() == (
        "ok    source nc (users): users alice, bob; left out: admin (users_exclude 'admin'), "
        "carol (no files/InstantUpload)")
