"""Nextcloud sources: the users of a data directory, and the folders of theirs that are walked.

A nextcloud source's root is the data directory itself, so a file's rel_path is
`<user>/files/InstantUpload/...`: its first component is its user, everywhere (the records,
the journal, `{user}` in layouts, the rescan of that user's path). Only the users' configured
folders are walked or watched, never `appdata_*` (previews by the hundred thousand) and the
other folders Nextcloud keeps beside its users. Which folder is a user, and which users the
filters keep, is decided in shared/config/nextcloud.py.
"""

from __future__ import annotations

import os

from shared.config import FoundUsers, SourceConfig, find_users, user_folders_of


def user_of(rel_path: str) -> str:
    """The Nextcloud user a source-relative path belongs to ("" for a file at the top)."""
    head, sep, _ = rel_path.partition("/")
    return head if sep else ""


def discover_users(source: SourceConfig) -> FoundUsers:
    """The users of a nextcloud source now, and those left out with why (doctor shows both)."""
    assert source.nextcloud is not None, f"source {source.name} is not a nextcloud source"
    return find_users(source.path, source.nextcloud)


def user_folders(source: SourceConfig) -> dict[str, str]:
    """Each watched folder of a nextcloud source, relative to its data directory, with its
    user: {"alice/files/InstantUpload": "alice", ...}. Empty for any other kind of source."""
    if source.nextcloud is None:
        return {}
    root = os.fspath(source.path)
    return {folder: user for user in discover_users(source).users
            for folder in user_folders_of(root, user, source.nextcloud)}


def walk_starts(source: SourceConfig) -> list[str]:
    """The folders a walk of the source starts from, relative to its root: the whole root
    ("") for an ordinary source, only the users' folders for a nextcloud source."""
    if source.nextcloud is None:
        return [""]
    return sorted(user_folders(source))
