"""Following the users of a nextcloud source while the watcher runs (workers/watcher.py).

The users are looked for again every few seconds, and at once when a folder is created or
removed at the top of the data directory (a user's folder tree is made in several steps, so
the event alone may come before `files/InstantUpload` exists: the timer catches that). What
changed is handed to the watcher as folders to start and stop watching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.config import SourceConfig
from shared.source import discover_users, user_folders

log = logging.getLogger(__name__)

REDISCOVER_SECONDS = 2.0


class UserFollower:
    """The watched folders of one nextcloud source ({"alice/files/InstantUpload": "alice"}),
    and what changed since the last look."""

    def __init__(self, source: SourceConfig, clock: Callable[[], float],
                 every: float = REDISCOVER_SECONDS) -> None:
        self.source, self._clock, self._every = source, clock, every
        self.next_at = 0.0
        self.folders: dict[str, str] = {}
        self._excluded: dict[str, str] = {}

    def wake(self) -> None:
        """Look again at the next turn of the loop (an event thread may call it)."""
        self.next_at = 0.0

    def due(self) -> bool:
        return self._clock() >= self.next_at

    def refresh(self) -> tuple[dict[str, str], dict[str, str]]:
        """(folders to start watching, folders to stop watching), each folder -> its user."""
        self.next_at = self._clock() + self._every
        name = self.source.name
        try:
            found = discover_users(self.source)
            now = user_folders(self.source)
        except OSError as exc:  # the data directory went away: keep what is watched for now
            log.warning("source %s: cannot look for Nextcloud users: %s", name, exc)
            return {}, {}
        for user, why in found.excluded.items():
            if self._excluded.get(user) != why:
                log.info("source %s: Nextcloud user %s not watched: %s", name, user, why)
        self._excluded = dict(found.excluded)
        added = {f: u for f, u in now.items() if f not in self.folders}
        removed = {f: u for f, u in self.folders.items() if f not in now}
        if not now and self.folders:
            log.warning("source %s: no Nextcloud user left in %s", name, self.source.path)
        self.folders = now
        return added, removed
