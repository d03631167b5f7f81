"""`[sources.NAME] kind = "icloud"`: a folder that icloudpd downloads an iCloud library into.

The keys live here, below `shared.source`, so that loading the configuration already refuses
what cannot work (no username, a delete without a second copy, mode = "move");
shared/source/icloud.py builds the command from them, runs it and reads its output.

Deleting from iCloud is icloudpd's `--keep-icloud-recent-days N` (`delete_from_icloud_after_days`),
never `--delete-after-download`: that one deletes each asset the moment it is downloaded, before
mediacourier verified any copy. shared/source/icloud_safety.py decides on each fetch whether the
option may be passed at all.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config.tables import Table, parse_duration, toml_text
from shared.errors import ConfigError

DEFAULT_FOLDER_STRUCTURE = "{:%Y/%m}"
DEFAULT_FETCH_EVERY = 6 * 3600.0
DEFAULT_FETCH_TIMEOUT = 1500.0  # below the default task_time_limit (1800 s)
# icloudpd is a dependency (pyproject.toml): its script sits beside this Python's, which is not
# always on PATH (a worker started as .venv/bin/celery).
BUNDLED_ICLOUDPD = Path(sys.executable).parent / "icloudpd"


@dataclass(frozen=True)
class IcloudOptions:
    """How one iCloud source fetches. The password is never here: only where to read it."""

    username: str
    cookie_directory: Path | None = None  # None: <data_dir>/icloud/<source name>
    fetch_every: float = DEFAULT_FETCH_EVERY
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT
    folder_structure: str = DEFAULT_FOLDER_STRUCTURE
    until_found: int = 50
    # None: never delete from iCloud. N: icloudpd deletes assets created N days ago or more, and
    # only on a run where every such file here has a verified copy (icloud_safety.py).
    delete_from_icloud_after_days: int | None = None
    icloudpd: str = "icloudpd"
    password_file: str = ""
    password_env: str = ""


def default_icloudpd() -> str:
    """`icloudpd` on PATH, else the one installed with mediacourier."""
    if shutil.which("icloudpd") or not BUNDLED_ICLOUDPD.is_file():
        return "icloudpd"
    return str(BUNDLED_ICLOUDPD)


def icloud_mode(table: Table) -> str:
    """An iCloud source copies (the default): icloudpd downloads again, on its next run, every
    file that is no longer in its folder, so a source that moves would fetch its whole library
    again on each run."""
    mode = table.get("mode", "copy", str)
    if mode != "copy":
        raise ConfigError(f"{table.at('mode')}: {toml_text(mode)} is refused for kind = "
                          '"icloud": icloudpd downloads again every file moved out of its folder; '
                          'use mode = "copy" (the default for an iCloud source)')
    return mode


def parse_icloud(table: Table, base: Path) -> IcloudOptions:
    """The iCloud keys of a source table; ConfigError naming the key."""
    if "delete_after_download" in table.data:
        raise ConfigError(f"{table.at('delete_after_download')}: no longer a key: icloudpd would "
                          "delete each photo before its copy is verified; use "
                          "delete_from_icloud_after_days = N instead")
    username = table.get("icloud_username", "", str).strip()
    if not username:
        raise ConfigError(f"{table.at('icloud_username')}: required for kind = \"icloud\" "
                          "(the Apple ID icloudpd logs in as)")
    cookies = table.get("icloud_cookie_directory", "", str)
    structure = table.get("folder_structure", DEFAULT_FOLDER_STRUCTURE, str)
    if structure != "none" and "{" not in structure:
        raise ConfigError(f"{table.at('folder_structure')}: {toml_text(structure)} is not an "
                          'icloudpd folder structure (use e.g. "{:%Y/%m}" or "none")')
    password_file = table.get("icloud_password_file", "", str)
    password_env = table.get("icloud_password_env", "", str)
    if password_file and password_env:
        raise ConfigError(f"{table.at('icloud_password_file')}: give icloud_password_file or "
                          "icloud_password_env, not both")
    return IcloudOptions(
        username=username,
        cookie_directory=Path(os.path.abspath(base / os.path.expanduser(cookies)))
        if cookies else None,
        fetch_every=parse_duration(table.get("fetch_every", "6h"), table.at("fetch_every"),
                                   positive=True),
        fetch_timeout=parse_duration(table.get("fetch_timeout", DEFAULT_FETCH_TIMEOUT),
                                     table.at("fetch_timeout"), positive=True),
        folder_structure=structure,
        until_found=table.get("until_found", 50, int, low=1),
        delete_from_icloud_after_days=table.get("delete_from_icloud_after_days", None, int,
                                                low=0),
        icloudpd=table.get("icloudpd", "", str) or default_icloudpd(),
        password_file=os.path.abspath(base / os.path.expanduser(password_file))
        if password_file else "",
        password_env=password_env,
    )


def check_icloud_sources(sources: Mapping[str, Any], mirrors: Mapping[str, Any],
                         flows: Mapping[str, Any], task_time_limit: float, name: str) -> None:
    """Deleting from iCloud leaves the library's copy as the only one: allowed only when a later
    step proves a second copy elsewhere: a [mirrors.NAME] of the source's library, or a
    [flows.NAME] of the source with a `release` step (which the flow allows only after a proven
    copy). Each fetch then also checks the files themselves (shared/source/icloud_safety.py)."""
    for source in sources.values():
        options = getattr(source, "icloud", None)
        if options is None:
            continue
        where = f"{name}: [sources.{source.name}]"
        if options.fetch_timeout >= task_time_limit:
            raise ConfigError(f"{where} fetch_timeout: {options.fetch_timeout:g} s must be "
                              f"below task_time_limit ({task_time_limit:g} s)")
        if options.delete_from_icloud_after_days is None:
            continue
        copies = [m.name for m in mirrors.values() if m.library == source.library]
        copies += [f.name for f in flows.values()
                   if (f.source == source.name or f.from_path == source.path)
                   and any(step.kind == "release" for step in f.steps)]
        if not copies:
            raise ConfigError(
                f"{where} delete_from_icloud_after_days: refused: the library would hold the only "
                f"copy of what icloudpd deletes from iCloud: add a [mirrors.NAME] of library "
                f"{source.library!r} or a [flows.NAME] of this source with a release step, or "
                "leave the key out")
