"""One fetch of an iCloud source with the icloudpd stand-in: downloads land in the source, a
login that needs a person holds the fetching (once, notified once) until a new login, the
password travels on stdin, a run cut short by its timeout leaves only a `.part` that is never
ingested, and icloudpd is told to delete from iCloud (--keep-icloud-recent-days, in a second
run) only when every old file has a verified copy."""

from __future__ import annotations

import os
import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import NotifyConfig, Settings, build_settings
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
from shared.state import FileRecord, RedisStateStore
from tests.shared.source.icloud_standin import (
    icloud_raw,
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


def _deleting(tmp_path: Path, days: int) -> tuple[Settings, Path]:
    """An iCloud source that may delete what is `days` old, its library mirrored to a NAS."""
    raw = icloud_raw(tmp_path, install_standin(tmp_path / "bin"),
                     delete_from_icloud_after_days=days)
    (tmp_path / "nas").mkdir()
    raw["targets"] = {"nas": {"kind": "local", "root": str(tmp_path / "nas")}}
    raw["mirrors"] = {"offsite": {"library": "photos", "target": "nas"}}
    settings = build_settings(raw, None, tmp_path)
    return settings, cookie_directory(settings, settings.sources["phone"])


def _old_photo(tmp_path: Path, rel: str, store: RedisStateStore | None) -> Path:
    """A 40-day-old photo in the source, recorded as ingested when a store is given."""
    path = tmp_path / "icloud" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 " + rel.encode())
    stamp = time.time() - 40 * 86400
    os.utime(path, (stamp, stamp))
    if store is not None:
        info = path.stat()
        store.put_record("phone", rel, FileRecord(info.st_size, info.st_mtime_ns, info.st_ino,
                                                  "cd" * 32, "ingested", rel))
    return path


def _deletes(call: dict[str, object]) -> str | None:
    argv = call["argv"]
    assert isinstance(argv, list) and "--delete-after-download" not in argv
    flag = "--keep-icloud-recent-days"
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_an_old_file_not_verified_yet_keeps_icloud_untouched(tmp_path: Path,
                                                             store: RedisStateStore) -> None:
    # Given a source deleting what is 30 days old, one old photo ingested and one not yet
    settings, cookies = _deleting(tmp_path, 30)
    _old_photo(tmp_path, "2024/04/IMG_1.JPG", store)
    waiting = _old_photo(tmp_path, "2024/04/IMG_2.JPG", None)
    tell_standin(cookies, "download")
    # When the source is fetched
    result = fetch_source(settings, store, "phone")
    # Then icloudpd ran once, told to delete nothing, and one line says why
    assert isinstance(result, FetchResult) and result.ok
    assert [_deletes(call) for call in standin_calls(cookies)] == [None]
    [deferred] = [e for e in store.read_journal() if e["event"] == "icloud_delete_deferred"]
    assert deferred["reason"] == ("not deleting from iCloud yet: 1 files older than 30 days "
                                  f"not verified yet (first: {waiting})")


def test_once_every_old_file_is_verified_a_second_run_deletes(tmp_path: Path,
                                                              store: RedisStateStore) -> None:
    # Given a source deleting what is 30 days old, whose old photos are all ingested
    settings, cookies = _deleting(tmp_path, 30)
    _old_photo(tmp_path, "2024/04/IMG_1.JPG", store)
    _old_photo(tmp_path, "2024/04/IMG_2.JPG", store)
    tell_standin(cookies, "download")
    # When the source is fetched
    result = fetch_source(settings, store, "phone")
    # Then icloudpd downloaded first, then ran again with --keep-icloud-recent-days 30
    assert isinstance(result, FetchResult) and result.ok
    assert [_deletes(call) for call in standin_calls(cookies)] == [None, "30"]
    assert "icloud_delete" in [e["event"] for e in store.read_journal()]


def test_what_this_fetch_downloads_is_never_deleted_by_it(tmp_path: Path,
                                                          store: RedisStateStore) -> None:
    # Given a source deleting everything verified (0 days), and a photo to download from 2019
    settings, cookies = _deleting(tmp_path, 0)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 taken in 2019")
    tell_standin(cookies, "download", [{"src": str(photo), "name": "IMG_7.JPG",
                                        "folder": "2019/07", "created": 1563000000}])
    # When the source is fetched
    result = fetch_source(settings, store, "phone")
    # Then it is downloaded (dated as icloudpd dates it) and icloudpd was not told to delete
    assert isinstance(result, FetchResult) and result.downloaded == 1
    landed = tmp_path / "icloud" / "2019" / "07" / "IMG_7.JPG"
    assert landed.read_bytes() == photo.read_bytes() and landed.stat().st_mtime == 1563000000
    assert [_deletes(call) for call in standin_calls(cookies)] == [None]
    [deferred] = [e for e in store.read_journal() if e["event"] == "icloud_delete_deferred"]
    assert f"1 files older than 0 days not verified yet (first: {landed})" in deferred["reason"]


def test_a_download_that_did_not_finish_cleanly_deletes_nothing(tmp_path: Path,
                                                                store: RedisStateStore) -> None:
    # Given a source deleting what is 30 days old, all old photos verified, and Apple throttling
    settings, cookies = _deleting(tmp_path, 30)
    _old_photo(tmp_path, "2024/04/IMG_1.JPG", store)
    tell_standin(cookies, "throttled")
    # When the source is fetched
    result = fetch_source(settings, store, "phone")
    # Then the failure is returned and icloudpd was never told to delete
    assert isinstance(result, FetchResult) and result.failure == "transient"
    assert [_deletes(call) for call in standin_calls(cookies)] == [None]



def test_an_asset_that_could_not_be_downloaded_deletes_nothing(tmp_path: Path,
                                                               store: RedisStateStore) -> None:
    # Given every old photo here verified, and an old asset icloudpd fails to download (a run
    # that still ends with exit 0: icloudpd logs the error and goes on)
    settings, cookies = _deleting(tmp_path, 30)
    _old_photo(tmp_path, "2024/04/IMG_1.JPG", store)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 never arrives")
    tell_standin(cookies, "download_error", [{"src": str(photo), "name": "IMG_5.JPG",
                                              "folder": "2019/07", "created": 1563000000}])
    # When the source is fetched
    result = fetch_source(settings, store, "phone")
    # Then the run is not a failure, but icloudpd (which would delete the missing asset too)
    # was not told to delete, and the journal says why
    assert isinstance(result, FetchResult) and result.ok and result.errors
    assert [_deletes(call) for call in standin_calls(cookies)] == [None]
    [deferred] = [e for e in store.read_journal() if e["event"] == "icloud_delete_deferred"]
    assert deferred["reason"] == ("not deleting from iCloud yet: the download did not finish "
                                  "cleanly (Could not download IMG_5.JPG. Please try again "
                                  "later.)")
