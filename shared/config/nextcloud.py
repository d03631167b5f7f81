"""`[sources.NAME] kind = "nextcloud"`: a Nextcloud data directory whose users are found in it.

The keys (`user_folder`, `users_include`, `users_exclude`) and the rule of which folders of
a data directory are users live here, below `shared.source`, so that loading the
configuration can already say "no user found" and the watcher, the reconcile and `doctor`
share one answer (shared/source/nextcloud.py builds on it).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from shared.config.tables import Table, toml_text
from shared.errors import ConfigError

DEFAULT_USER_FOLDER = "files/InstantUpload"
# Folders Nextcloud keeps beside its users: app data (previews: hundreds of thousands of
# files), group folders, external storage config, the updater's backups, logs, the marker file.
NOT_USERS = ("appdata_*", "__groupfolders", "files_external", "updater-*", "*.log",
             ".ocdata", ".*", "lost+found",
             "-*")  # an id occ would read as an option (`memories:index -u -x`)


@dataclass(frozen=True)
class NextcloudOptions:
    """Which folder of each user is the source, and which users count."""

    user_folders: tuple[str, ...] = (DEFAULT_USER_FOLDER,)
    users_include: tuple[str, ...] = ()  # fnmatch globs on the user id; empty: every user
    users_exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class FoundUsers:
    """One look at a data directory: users watched, and users left out with the reason."""

    users: tuple[str, ...]
    excluded: dict[str, str]  # user id -> why (a filter, or no user folder)


def parse_nextcloud(table: Table) -> NextcloudOptions:
    """The Nextcloud keys of a source table; ConfigError naming the key."""
    raw = table.get("user_folder", DEFAULT_USER_FOLDER, (str, list))
    folders = [raw] if isinstance(raw, str) else raw
    if not folders or not all(isinstance(item, str) for item in folders):
        raise ConfigError(f"{table.at('user_folder')}: expected a folder or a list of folders "
                          f"(such as \"files/InstantUpload\"), got {toml_text(raw)}")
    clean = []
    for folder in folders:
        parts = [p for p in folder.replace("\\", "/").split("/") if p not in ("", ".")]
        if folder.startswith("/") or not parts or ".." in parts:
            raise ConfigError(f"{table.at('user_folder')}: {folder!r} must be a folder inside "
                              "each user's folder, such as \"files/InstantUpload\"")
        clean.append(posixpath.join(*parts))
    return NextcloudOptions(tuple(dict.fromkeys(clean)), table.strings("users_include"),
                            table.strings("users_exclude"))


def is_user_folder_name(name: str) -> bool:
    """Whether a folder of the data directory can be a user's (not Nextcloud's own)."""
    return not any(fnmatch.fnmatchcase(name, pattern) for pattern in NOT_USERS)


def user_filter_reason(user: str, options: NextcloudOptions) -> str:
    """Why the filters leave `user` out, or "" when they keep it."""
    if options.users_include and not any(fnmatch.fnmatchcase(user, p)
                                         for p in options.users_include):
        return "not in users_include"
    hit = next((p for p in options.users_exclude if fnmatch.fnmatchcase(user, p)), None)
    return f"users_exclude {hit!r}" if hit else ""


def user_folders_of(data_dir: str, user: str, options: NextcloudOptions) -> list[str]:
    """The configured folders that exist for `user`, relative to the data directory; a folder
    reached through a symlink does not count (its files would lie outside the data dir)."""
    found = []
    for folder in options.user_folders:
        path, ok = data_dir, True
        for part in (user, *folder.split("/")):
            path = os.path.join(path, part)
            if not os.path.isdir(path) or os.path.islink(path):
                ok = False
                break
        if ok:
            found.append(f"{user}/{folder}")
    return found


def find_users(data_dir: Path | str, options: NextcloudOptions) -> FoundUsers:
    """The users of a data directory: each folder `<data>/<user>/<user_folder>` that exists,
    less Nextcloud's own folders and what the filters leave out. Never raises for the disk:
    an unreadable data directory has no users (the caller says so)."""
    root = os.fspath(data_dir)
    users: list[str] = []
    excluded: dict[str, str] = {}
    try:
        with os.scandir(root) as entries:
            names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return FoundUsers((), {})
    for name in names:
        if not is_user_folder_name(name):
            continue
        why = user_filter_reason(name, options)
        if why:
            excluded[name] = why
        elif user_folders_of(root, name, options):
            users.append(name)
        else:
            excluded[name] = f"no {' or '.join(options.user_folders)}"
    return FoundUsers(tuple(users), excluded)


def check_has_users(data_dir: Path, options: NextcloudOptions, where: str) -> None:
    """ConfigError naming the source's `path` when its data directory has no user to watch."""
    found = find_users(data_dir, options)
    if found.users:
        return
    folders = " or ".join(f"<user>/{f}" for f in options.user_folders)
    if found.excluded and any(not why.startswith("no ") for why in found.excluded.values()):
        raise ConfigError(f"{where}: every Nextcloud user in {str(data_dir)!r} is left out by "
                          f"users_include / users_exclude ({', '.join(sorted(found.excluded))})")
    raise ConfigError(f"{where}: no Nextcloud user found in {str(data_dir)!r} (no folder "
                      f"{folders}); is it the Nextcloud data directory?")
