"""icloudpd as a source's fetch step: the command line it is run with, and what its log says.

Both are plain functions of their inputs. The messages matched below are icloudpd 1.32.3's own
(the origin of each is in tests/data/icloudpd_standin/README.md): its log goes to stdout as
`2026-05-30 16:20:46 INFO     <message>` (logging.basicConfig, format
'%(asctime)s %(levelname)-8s %(message)s'). What it downloaded and skipped is logged at DEBUG,
so the command keeps `--log-level debug`.

icloudpd writes each file as `<checksum>.part` in its folder and renames it when complete; the
ignore rules (shared/media/ignore.py) never ingest a `.part`, so a half-downloaded file stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shared.config import IcloudOptions

AUTH, TRANSIENT, OTHER = "auth", "transient", "other"
FAILURE_KINDS = (AUTH, TRANSIENT, OTHER)
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(.*)$")

# A login a person has to renew (a new 2FA code, a password): the fetch is held, not retried.
AUTH_MESSAGES = (
    "Two-factor authentication is required (2fa)",
    "Two-step authentication is required (2sa)",
    "Two-step authentication required for account",
    "Invalid email/password combination.",
    "Invalid username/password combination.",
    "Authentication required for Account.",
    "None of providers gave password",
    "Password Provider did not give any data",
    "Failed to verify two-factor authentication code",
    "Failed to verify two-step authentication code",
    "Missing X-APPLE-WEBAUTH-TOKEN cookie",
    "Apple iCloud setup is not complete",
)
# Apple throttling or unreachable, a download cut short: the next try may well work.
TRANSIENT_MESSAGES = (
    "Apple iCloud is temporary refusing to serve icloudpd",
    "The remote servers might be trying to throttle requests",
    "Cannot connect to Apple iCloud service",
    "iCloud service not available (503)",
    "Please try again later.",
    "retrying after",
    "Session error, re-authenticating",
    # requests' and urllib3's own words when the network is down (a traceback's last line)
    "ConnectionError",
    "Max retries exceeded",
    "Read timed out",
    "Temporary failure in name resolution",
)


@dataclass(frozen=True)
class FetchResult:
    """What one icloudpd run did: counts, the error lines, and the kind of failure ('' when
    it ran to its end)."""

    downloaded: int = 0
    skipped: int = 0
    errors: tuple[str, ...] = ()
    failure: str = ""
    reason: str = ""  # the line that decided the failure
    complete: bool = False  # icloudpd said all photos have been downloaded
    downloaded_paths: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failure


def fetch_command(options: IcloudOptions, directory: Path, cookie_directory: Path,
                  password_on_stdin: bool, delete_older_than_days: int | None = None
                  ) -> list[str]:
    """icloudpd's argv (never a shell string). The password is never an argument: with
    `password_on_stdin` icloudpd's console provider reads it from stdin (getpass falls back
    to stdin in a session without a terminal), otherwise its keyring provider is used.

    `delete_older_than_days` adds `--keep-icloud-recent-days N`: icloudpd then deletes from
    iCloud each asset it goes through that was created N days ago or more (0: all of them).
    Only the caller knows whether that is safe (icloud_safety.py); `--delete-after-download`,
    which deletes before any copy is verified, is never passed."""
    argv = [options.icloudpd, "--no-progress-bar", "--log-level", "debug",
            "--password-provider", "console" if password_on_stdin else "keyring",
            "--mfa-provider", "console",
            "--directory", str(directory),
            "--cookie-directory", str(cookie_directory),
            "--folder-structure", options.folder_structure,
            "--until-found", str(options.until_found)]
    if delete_older_than_days is not None:
        argv += ["--keep-icloud-recent-days", str(delete_older_than_days)]
    return [*argv, "--username", options.username]


def auth_command(options: IcloudOptions, cookie_directory: Path) -> list[str]:
    """A login by a person at a terminal: password and 2FA code typed in, cookies saved."""
    return [options.icloudpd, "--password-provider", "console", "--mfa-provider", "console",
            "--auth-only", "--cookie-directory", str(cookie_directory),
            "--username", options.username]


def _kind_of(message: str) -> str:
    if any(text in message for text in AUTH_MESSAGES):
        return AUTH
    if any(text in message for text in TRANSIENT_MESSAGES):
        return TRANSIENT
    return ""


def parse_output(output: str, exit_code: int, timed_out: bool = False) -> FetchResult:
    """Counts and failure from icloudpd's output (stdout and stderr together) and exit code.

    A login problem anywhere wins (icloudpd may go on to a traceback when it cannot ask for a
    code); then a run that did not end well is transient when any line says so (or it timed
    out), else `other`."""
    downloaded: list[str] = []
    skipped = 0
    errors: list[str] = []
    complete = False
    auth_line = transient_line = ""
    last_line = ""
    for raw in output.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        last_line = line
        match = LINE.match(line)
        level, message = match.groups() if match else ("", line)
        if level == "DEBUG" and message.startswith("Downloaded "):
            downloaded.append(message.removeprefix("Downloaded "))
        elif level == "DEBUG" and message.endswith(" already exists"):
            skipped += 1
        elif level == "INFO" and message.startswith("All ") and \
                message.endswith(" have been downloaded"):
            complete = True
        kind = _kind_of(message)
        if kind == AUTH and not auth_line:
            auth_line = message
        elif kind == TRANSIENT and not transient_line:
            transient_line = message
        if level in ("ERROR", "CRITICAL") or kind:
            errors.append(message)
    if auth_line:
        failure, reason = AUTH, auth_line
    elif timed_out:
        failure, reason = TRANSIENT, "icloudpd did not finish within fetch_timeout"
    elif exit_code != 0:
        failure = TRANSIENT if transient_line else OTHER
        reason = transient_line or f"icloudpd exited with {exit_code}: {last_line[:300]}"
    else:
        failure, reason = "", ""
    return FetchResult(downloaded=len(downloaded), skipped=skipped, errors=tuple(errors),
                       failure=failure, reason=reason, complete=complete,
                       downloaded_paths=tuple(downloaded))
