"""Warnings for settings that are valid but can never take effect.

They do not stop anything (the configuration works as written), but a user who set them
expected something that will not happen: each names the file, the key and why.
"""

from __future__ import annotations

from shared.config.settings import Settings
from shared.config.tables import toml_text


def ineffective_settings(settings: Settings, name: str) -> tuple[str, ...]:
    """One line per setting that can never apply, in file order of its table."""
    found: list[str] = []
    for library in settings.libraries.values():
        where = f"{name}: [libraries.{library.name}]"
        modes = {s.mode for s in settings.sources.values() if s.library == library.name}
        if library.duplicates != "skip" and modes == {"copy"}:
            # A copy-mode source is never changed (shared/ingest/duplicates.py).
            found.append(f"{where} duplicates: {toml_text(library.duplicates)} never applies: "
                         'every source of this library has mode = "copy", which leaves '
                         "duplicates in the source untouched")
        if library.archive_path is not None and library.duplicates != "archive":
            found.append(f"{where} archive_path: never used: duplicates is "
                         f'{toml_text(library.duplicates)}, not "archive"')
    listed = {t for library in settings.libraries.values() for t in library.rescan}
    for target in settings.rescan_targets:
        if target not in listed:
            found.append(f"{name}: [rescan.{target}]: never runs: no library lists it in "
                         "'rescan'")
    used = {library.syncthing for library in settings.libraries.values()}
    for table in settings.syncthing:
        if table not in used:
            found.append(f"{name}: [syncthing.{table}]: never checked: no library says "
                         f"syncthing = {toml_text(table)}")
    return tuple(found)
