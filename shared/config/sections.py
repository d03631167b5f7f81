"""The tables every configuration has: `[sources.X]`, `[libraries.X]`, `[rescan.X]` (the
generic command kind; the app kinds are in config_rescan) and `[schedules.X]`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shared.config.icloud import IcloudOptions, icloud_mode, parse_icloud
from shared.config.nextcloud import NextcloudOptions, check_has_users, parse_nextcloud
from shared.config.rescan import RescanTarget
from shared.config.tables import Table as _Table
from shared.config.tables import key_at, parse_duration, table_at, toml_text
from shared.config.targets import TargetConfig, library_path_on_target
from shared.errors import ConfigError
from shared.media import UNDATED_POLICIES, LayoutOptions, check_layout_options, validate_layout

MODES = ("move", "copy")
POLLING = ("auto", "on", "off")
DUPLICATE_POLICIES = ("skip", "archive", "delete")


@dataclass(frozen=True)
class SourceConfig:
    name: str
    path: Path
    library: str
    mode: str = "move"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    stability_seconds: float = 2.0
    polling: str = "auto"
    # "takeout": a Google Takeout export, each file's date from its JSON when it has none of
    # its own (also detected by its Takeout/Google Photos folders); `takeout_xmp`: write that
    # date and place into an XMP sidecar beside the library copy (shared/ingest/takeout.py).
    kind: str = "folder"
    takeout_xmp: bool = False
    # "nextcloud": `path` is a Nextcloud data directory; these say which of its users' folders
    # are watched (shared/config/nextcloud.py); None for every other kind.
    nextcloud: NextcloudOptions | None = None
    # "icloud": icloudpd downloads into `path` on a schedule (shared/config/icloud.py).
    icloud: IcloudOptions | None = None


VERIFY_MODES = ("cache", "disk")
SOURCE_KINDS = ("folder", "takeout", "nextcloud", "icloud")


@dataclass(frozen=True)
class LibraryConfig:
    name: str
    path: Path
    layout: str = "keep"
    duplicates: str = "skip"
    archive_path: Path | None = None
    rescan: tuple[str, ...] = ()
    syncthing: str = ""  # a [syncthing.X] whose folder holds this library
    target: str = ""  # a [targets.NAME]: `path` is then a path on that target
    # "cache": a copy's read-back may be served by the page cache; "disk": its cached pages
    # are dropped first, so the check reads what the disk holds (shared/ingest/placing.py).
    verify: str = "cache"
    # timezone, day_starts_at, unknown_folder, undated: which day a capture time belongs to
    # and where a file with no date goes (shared/media/layout.py).
    dates: LayoutOptions = LayoutOptions()
    # A file that must be in `path` for the library to count as there (mounted): library_hold.
    sentinel: str = ""


@dataclass(frozen=True)
class Schedule:
    source: str
    every_seconds: float | None = None
    cron: str | None = None


def folder(value: str, base: Path, where: str, must_exist: bool) -> Path:
    path = Path(os.path.expanduser(value))
    path = Path(os.path.abspath(base / path))
    if must_exist:
        check_folder(path, where)
    return path


def check_folder(path: Path, where: str) -> None:
    """ConfigError unless `path` is a folder: a file there is named as such, not as missing."""
    if path.is_dir():
        return
    if path.exists():
        raise ConfigError(f"{where}: {str(path)!r} is a file, not a folder")
    raise ConfigError(f"{where}: folder {str(path)!r} does not exist")


def parse_source(key: str, data: Any, base: Path, name: str,
                 must_exist: bool = True) -> SourceConfig:
    where = table_at(name, f"sources.{key}")
    table = _Table(data, where)
    path = table.get("path", None, str)
    library = table.get("library", None, str)
    if not path or not library:
        raise ConfigError(f"{where}: 'path' and 'library' are required")
    source = SourceConfig(
        name=key,
        path=folder(path, base, key_at(where, "path"), must_exist=must_exist),
        library=library,
        mode=table.choice("mode", "move", MODES),
        include=table.strings("include"),
        exclude=table.strings("exclude"),
        stability_seconds=parse_duration(table.get("stability", 2.0), table.at("stability")),
        polling=table.choice("polling", "auto", POLLING),
        kind=table.choice("kind", "folder", SOURCE_KINDS),
        takeout_xmp=table.get("takeout_xmp", False, bool),
    )
    if source.kind == "nextcloud":  # its keys are unknown keys in any other kind of source
        source = replace(source, nextcloud=parse_nextcloud(table))
    if source.kind == "icloud":
        source = replace(source, icloud=parse_icloud(table, base), mode=icloud_mode(table))
    table.finish()
    if source.nextcloud is not None and must_exist:
        check_has_users(source.path, source.nextcloud, key_at(where, "path"))
    return source


def parse_library(key: str, data: Any, base: Path, name: str, must_exist: bool = True,
             remote: Mapping[str, TargetConfig] | None = None) -> LibraryConfig:
    where = table_at(name, f"libraries.{key}")
    table = _Table(data, where)
    path = table.get("path", None, str)
    if not path:
        raise ConfigError(f"{where}: 'path' is required")
    target = table.get("target", "", str)
    on_target = (remote or {}).get(target)
    archive = table.get("archive_path", None, str)
    archive_path = folder(archive, base, table.at("archive_path"), False) if archive else None
    library = LibraryConfig(
        name=key,
        path=library_path_on_target(on_target, path) if on_target
        else folder(path, base, key_at(where, "path"), must_exist=must_exist),
        layout=table.get("layout", "keep", str),
        duplicates=table.choice("duplicates", "skip", DUPLICATE_POLICIES),
        verify=table.choice("verify", "cache", VERIFY_MODES),
        archive_path=archive_path,
        rescan=table.strings("rescan"),
        syncthing=table.get("syncthing", "", str),
        target=target,
        dates=LayoutOptions(table.get("timezone", "local", str),
                            table.get("day_starts_at", "00:00", str),
                            table.get("unknown_folder", "unknown/", str),
                            table.choice("undated", "unknown", UNDATED_POLICIES)),
        sentinel=table.get("sentinel", "", str),
    )
    table.finish()
    if library.duplicates == "archive" and library.archive_path is None:
        raise ConfigError(f"{where}: duplicates = \"archive\" needs 'archive_path'")

    validate_layout(library.layout, key_at(where, "layout"))
    check_layout_options(library.dates, lambda option: key_at(where, option))
    return library


def parse_command_target(key: str, data: Any, name: str) -> RescanTarget:
    where = table_at(name, f"rescan.{key}")
    table = _Table(data, where)
    command = table.get("command", None, (list, str))
    if not command:
        raise ConfigError(f"{where}: 'command' is required")
    if isinstance(command, str):
        # The folder reaches the shell as an argument, never inside the script: a folder
        # named '$(rm -rf ~)' must stay a name.
        script = command.replace("{folder}", '"$1"').replace("{rel_folder}", '"$2"')
        argv: tuple[str, ...] = ("sh", "-c", script, "mediacourier-rescan", "{folder}",
                                 "{rel_folder}")
    else:
        argv = tuple(command)
    if not any("{folder}" in part or "{rel_folder}" in part for part in
               (command if isinstance(command, list) else [command])):
        raise ConfigError(f"{table.at('command')}: needs a '{{folder}}' or '{{rel_folder}}' "
                          "placeholder")
    target = RescanTarget(
        name=key,
        command=argv,
        debounce_seconds=parse_duration(table.get("debounce", 10), table.at("debounce")),
        timeout_seconds=parse_duration(table.get("timeout", 600), table.at("timeout"),
                                       positive=True),
        max_folders=table.get("max_folders", 50, int, low=1),
    )
    table.finish()
    return target


def parse_schedule(key: str, data: Any, name: str) -> Schedule:
    where = table_at(name, f"schedules.{key}")
    table = _Table(data, where)
    every, cron = table.get("every"), table.get("cron", None, str)
    table.finish()
    if (every is None) == (cron is None):
        raise ConfigError(f"{where}: give exactly one of 'every' or 'cron'")
    if cron is not None:
        from croniter import croniter

        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise ConfigError(f"{table.at('cron')}: {toml_text(cron)} is not a valid five-field "
                              "cron expression")
    seconds = None if every is None else parse_duration(every, table.at("every"), positive=True)
    return Schedule(source=key, every_seconds=seconds, cron=cron)
