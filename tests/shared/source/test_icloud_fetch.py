"""One fetch of an iCloud source with the icloudpd stand-in: downloads land in the source, a
login that needs a person holds the fetching (once, notified once) until a new login, the
password travels on stdin, and a run cut short by its timeout leaves only a `.part` that is
never ingested."""

from __future__ import annotations

import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import NotifyConfig, Settings
from shared.notify import Message, notify_tick
from shared.source import (
    FetchHold,
    FetchResult,
    cookie_directory,
    fetch_hold,
    fetch_source,
    rules_for,
    walk_source,
)
from shared.state import RedisStateStore
from tests.shared.source.icloud_standin import (
    icloud_settings,
    install_standin,
    standin_calls,
    tell_standin,
)


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "t")


def _setup(tmp_path: Path, **keys: object) -> tuple[Settings, Path]:
    settings = icloud_settings(tmp_path, install_standin(tmp_path / "bin"), **keys)
    return settings, cookie_directory(settings, settings.sources["phone"])


def test_downloaded_files_land_in_the_source_and_are_journaled(tmp_path: Path,
                                                               store: RedisStateStore) -> None:
    # Given the stand-in with one photo to download
    settings, cookies = _setup(tmp_path)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 bytes of a photo")
    tell_standin(cookies, "download", [{"src": str(photo), "name": "IMG_1.JPG",
                                        "folder": "2024/05"}])
    # When the source is fetched
    result = fetch_source(settings, store, "phone")
    # Then the photo is in the source folder and the run is in the journal
    assert isinstance(result, FetchResult) and result.downloaded == 1
    assert (tmp_path / "icloud" / "2024" / "05" / "IMG_1.JPG").read_bytes() == photo.read_bytes()
    fetched = [e for e in store.read_journal() if e["event"] == "fetched"]
    assert fetched[0]["source"] == "phone" and fetched[0]["files"] == "1"


def test_an_expired_login_holds_fetching_notifies_once_and_is_not_run_again(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given icloudpd asking for a new 2FA code
    settings, cookies = _setup(tmp_path)
    tell_standin(cookies, "auth_2fa")
    sent: list[Message] = []
    config = NotifyConfig(name="phone-owner", urls=("json://localhost",))
    notify_tick(config, store, time.time(), send=lambda _c, m: sent.append(m) or True)
    # When the source is fetched, the notifier looks, and both happen once more
    first = fetch_source(settings, store, "phone")
    notify_tick(config, store, time.time(), send=lambda _c, m: sent.append(m) or True)
    second = fetch_source(settings, store, "phone")
    notify_tick(config, store, time.time(), send=lambda _c, m: sent.append(m) or True)
    # Then the first run is an auth failure that holds the source, the second ran nothing
    assert isinstance(first, FetchResult) and first.failure == "auth"
    assert isinstance(second, FetchHold)
    assert "Two-factor authentication is required" in second.reason
    assert len(standin_calls(cookies)) == 1
    # And one message says so, naming the source and how to log in again
    holds = [m for m in sent if m.kind == "holds"]
    assert len(holds) == 1
    assert "source phone" in holds[0].body and "icloud-auth phone" in holds[0].body
    assert [e["event"] for e in store.read_journal()].count("fetch_held") == 1


def test_a_new_login_in_the_cookie_directory_lifts_the_hold(tmp_path: Path,
                                                            store: RedisStateStore) -> None:
    # Given a source held for its login
    settings, cookies = _setup(tmp_path)
    tell_standin(cookies, "auth_password")
    fetch_source(settings, store, "phone")
    assert fetch_hold(store, "phone") is not None
    # When a person logs in again (icloudpd --auth-only writes its session files) and it fetches
    time.sleep(0.01)
    tell_standin(cookies, "download")
    (cookies / "jappleseedexamplecom.session").write_text("{}")
    result = fetch_source(settings, store, "phone")
    # Then the hold is gone and icloudpd ran again
    assert isinstance(result, FetchResult) and result.ok
    assert fetch_hold(store, "phone") is None
    assert len(standin_calls(cookies)) == 2
    assert "fetch_resumed" in [e["event"] for e in store.read_journal()]


def test_the_password_goes_on_stdin_never_in_argv(tmp_path: Path,
                                                  store: RedisStateStore) -> None:
    # Given a password in a secret file
    secret = tmp_path / "icloud.pw"
    secret.write_text("correct horse\n")
    settings, cookies = _setup(tmp_path, icloud_password_file=str(secret))
    tell_standin(cookies, "download", password="correct horse")
    # When the source is fetched
    fetch_source(settings, store, "phone")
    # Then icloudpd read it from stdin, and no argument holds it
    [call] = standin_calls(cookies)
    assert call["password_ok"] is True
    assert not any("correct horse" in arg for arg in call["argv"])


def test_a_fetch_cut_short_leaves_a_part_file_that_is_never_ingested(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a download that hangs after writing its .part
    settings, cookies = _setup(tmp_path)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 half")
    tell_standin(cookies, "hang", [{"src": str(photo), "name": "IMG_9.JPG", "folder": "2024"}])
    # When the fetch runs out of its timeout
    started = time.monotonic()
    result = fetch_source(settings, store, "phone", timeout=3)
    # Then it was killed in time, is transient, and the source's walk does not list the .part
    assert time.monotonic() - started < 20
    assert isinstance(result, FetchResult) and result.failure == "transient"
    parts = list((tmp_path / "icloud").rglob("*.part"))
    assert len(parts) == 1
    (tmp_path / "icloud" / "2024" / "IMG_8.JPG").write_bytes(b"\xff\xd8 whole")
    listed = [e.rel_path for e in walk_source(tmp_path / "icloud",
                                              rules_for(settings.sources["phone"]))]
    assert listed == ["2024/IMG_8.JPG"]
    assert fetch_hold(store, "phone") is None
