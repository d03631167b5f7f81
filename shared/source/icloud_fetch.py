"""One fetch of an iCloud source: run icloudpd with a timeout, read its output, and hold the
source's fetching when the login needs a person (a 2FA code expired, a password refused).

A held source is not fetched again on every schedule (Apple locks accounts that retry bad
logins, and each try would send a 2FA prompt to the owner's phone): the hold lasts until a
person logs in again, by `mediacourier icloud-auth SOURCE`, or by running
`icloudpd --auth-only --cookie-directory DIR --username USER` themselves; icloudpd then writes
new session files into the cookie directory, and the next fetch sees them and lifts the hold.
The notifier reports the hold once (shared/notify/watch.py); files already downloaded go on
being ingested, the hold is on fetching only.

A source with `delete_from_icloud_after_days` fetches in two runs: first icloudpd downloads,
deleting nothing; then, only when that run ended cleanly and every file old enough to be
deleted has a verified copy recorded (icloud_safety.py), it runs again with
`--keep-icloud-recent-days N`. icloudpd deletes each old asset it goes through even if this run
downloaded it just now, or failed to: after a clean first run, such an asset can only be one
that reached iCloud in the seconds between the two runs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shared.config import Settings, SourceConfig
from shared.errors import ConfigError
from shared.secrets import read_secret
from shared.source.icloud import AUTH, OTHER, FetchResult, fetch_command, parse_output
from shared.source.icloud_safety import SUMMER_TIME, check_icloud_delete
from shared.state import RedisStateStore

COOKIES_FOLDER = "icloud"  # <data_dir>/icloud/<source>: each source's own session files
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchHold:
    since: float
    reason: str


def cookie_directory(settings: Settings, source: SourceConfig) -> Path:
    """The source's cookie folder, made private (0700: its files are a logged-in session)."""
    assert source.icloud is not None
    folder = source.icloud.cookie_directory
    if folder is None:
        folder = Path(settings.data_dir) / COOKIES_FOLDER / source.name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def fetch_hold(store: RedisStateStore, source: str) -> FetchHold | None:
    raw = store.fetch_hold_entries().get(source)
    if raw is None:
        return None
    entry = json.loads(raw)
    return FetchHold(float(entry["since"]), str(entry["reason"]))


def fetch_holds(store: RedisStateStore) -> dict[str, FetchHold]:
    return {name: FetchHold(float(e["since"]), str(e["reason"]))
            for name, e in ((n, json.loads(raw)) for n, raw in
                            store.fetch_hold_entries().items())}


def hold_fetching(store: RedisStateStore, source: str, reason: str) -> bool:
    """Hold the source's fetching; True (and journaled) when this starts the episode."""
    started = store.hold_fetch_entry(source, json.dumps({"since": time.time(),
                                                          "reason": reason}))
    if started:
        store.journal("fetch_held", source=source, reason=reason)
    return started


def lift_fetch_hold(store: RedisStateStore, source: str, why: str) -> bool:
    lifted = store.drop_fetch_hold(source)
    if lifted:
        store.journal("fetch_resumed", source=source, reason=why)
    return lifted


def logged_in_since(folder: Path, since: float) -> bool:
    """Whether icloudpd wrote its session files after `since` (a new login)."""
    try:
        return any(entry.stat().st_mtime > since for entry in folder.iterdir()
                   if entry.is_file())
    except OSError:
        return False


def password_of(source: SourceConfig) -> str | None:
    """The configured password (file or environment variable), or None for the keyring."""
    assert source.icloud is not None
    options = source.icloud
    if not options.password_file and not options.password_env:
        return None
    return read_secret(options.password_file or None, options.password_env or None,
                       f"[sources.{source.name}] icloud_password")


def run_icloudpd(argv: list[str], stdin_text: str | None, timeout: float) -> tuple[str, int, bool]:
    """(output, exit code, timed out). Its own session: getpass finds no terminal and reads
    stdin, and a timeout kills icloudpd with every process it started."""
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            start_new_session=True)
    except OSError as exc:
        return f"cannot run {argv[0]!r}: {exc.strerror or exc}", 127, False
    try:
        output, _ = process.communicate(stdin_text, timeout=timeout)
        return output, process.returncode, False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return output or "", process.returncode, True


def fetch_source(settings: Settings, store: RedisStateStore, name: str,
                 timeout: float | None = None) -> FetchResult | FetchHold:
    """Run one fetch of iCloud source `name`, or return its hold without running anything.

    An auth failure starts a hold (once); other results are returned for the caller to retry
    (transient) or record (other)."""
    source = settings.sources[name]
    options = source.icloud
    if options is None:
        raise ConfigError(f"[sources.{name}]: kind is {source.kind!r}, not \"icloud\"")
    cookies = cookie_directory(settings, source)
    hold = fetch_hold(store, name)
    if hold is not None:
        if not logged_in_since(cookies, hold.since):
            return hold
        lift_fetch_hold(store, name, "new login found in the cookie directory")
    password = password_of(source)
    timeout = options.fetch_timeout if timeout is None else timeout
    started = time.monotonic()

    def run(delete_days: int | None) -> FetchResult:
        argv = fetch_command(options, source.path, cookies, password is not None, delete_days)
        output, code, timed_out = run_icloudpd(
            argv, None if password is None else password + "\n", timeout)
        return parse_output(output, code, timed_out)

    result = run(None)
    days = options.delete_from_icloud_after_days
    if days is not None and result.ok:
        deleting = _deleting_run(store, source, days, result, timeout)
        if deleting:
            second = run(days)
            result = FetchResult(
                downloaded=result.downloaded + second.downloaded,
                skipped=second.skipped, errors=result.errors + second.errors,
                failure=second.failure, reason=second.reason, complete=second.complete,
                downloaded_paths=result.downloaded_paths + second.downloaded_paths)
    seconds = round(time.monotonic() - started, 1)
    if result.failure == AUTH:
        hold_fetching(store, name, result.reason)
    elif result.ok:
        store.journal("fetched", source=name, files=result.downloaded, seconds=seconds,
                      reason=f"{result.downloaded} downloaded, {result.skipped} already there")
    elif result.failure == OTHER:
        store.journal("fetch_failed", source=name, reason=result.reason, seconds=seconds)
    return result


def _deleting_run(store: RedisStateStore, source: SourceConfig, days: int,
                  first: FetchResult, timeout: float) -> bool:
    """Whether the second run may pass --keep-icloud-recent-days; why not, journaled once."""
    if not first.complete or first.errors:
        # An asset the first run could not download is not here to be checked, and icloudpd
        # would delete it all the same.
        why = (f"not deleting from iCloud yet: the download did not finish cleanly "
               f"({(first.errors or ('no end of run in its log',))[0][:200]})")
    else:
        check = check_icloud_delete(store, source, days, margin=timeout + SUMMER_TIME)
        if check.safe:
            store.journal("icloud_delete", source=source.name,
                          reason=f"{check.checked} files older than {days} days verified: "
                                 f"icloudpd deletes them from iCloud")
            return True
        why = check.line()
    log.info("[sources.%s] %s", source.name, why)
    store.journal("icloud_delete_deferred", source=source.name, reason=why)
    return False
