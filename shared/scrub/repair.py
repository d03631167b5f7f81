"""Restoring a damaged library file from a mirror copy that still has the indexed sha256.

Every mirror of the library is a candidate; a copy is used only when the target's own sha256
of it is the indexed one, and the bytes read back hash to it again before they replace the
damaged file (which keeps its name and modification time: the version it always was).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from shared.config import Settings
from shared.errors import MediacourierError, RepairImpossible
from shared.remote import open_destination
from shared.scrub.fetch import fetch_backup
from shared.scrub.ledger import ScrubLedger
from shared.scrub.scan import Repairer, library_root
from shared.state import RedisStateStore


def repair_file(settings: Settings, store: RedisStateStore, library: str, rel: str,
                expected: str, mtime_ns: int) -> str:
    """Restore `rel` of `library`; returns the mirror it came from, else RepairImpossible."""
    root = library_root(settings, library)
    tried: list[str] = []
    for mirror in settings.mirrors.values():
        if mirror.library != library:
            continue
        try:
            destination = open_destination(settings, mirror.target, store)
        except (MediacourierError, OSError) as exc:
            tried.append(f"{mirror.name}: {exc}")
            continue
        try:
            found = destination.sha256(rel)
            if found != expected:
                tried.append(f"{mirror.name}: {'no copy' if found is None else 'copy differs'}")
                continue
            fetch_backup(destination, rel, Path(root, *rel.split("/")), mtime_ns,
                         replace=True, expect_sha256=expected)
        except (MediacourierError, OSError) as exc:
            tried.append(f"{mirror.name}: {exc}")
            continue
        finally:
            with contextlib.suppress(Exception):
                destination.close()
        ledger = ScrubLedger(store, library)
        ledger.clear_damaged(rel)
        info = Path(root, *rel.split("/")).stat()
        ledger.remember({rel: (info.st_size, info.st_mtime_ns)})
        return mirror.name
    raise RepairImpossible(f"{library}:{rel}: no verified copy to restore from ("
                           + ("; ".join(tried) or "the library has no mirror") + ")")


def repairer(settings: Settings, store: RedisStateStore, library: str) -> Repairer:
    return lambda rel, expected, mtime_ns: repair_file(settings, store, library, rel,
                                                       expected, mtime_ns)


def repair_damaged(settings: Settings, store: RedisStateStore, library: str,
                   host: str = "") -> tuple[list[str], list[str]]:
    """Repair every file a scrub found damaged: (repaired, lines of those that could not be)."""
    done, failed = [], []
    for rel, item in sorted(ScrubLedger(store, library).damaged().items()):
        try:
            mirror = repair_file(settings, store, library, rel, item["expected"],
                                 int(item["mtime_ns"]))
        except MediacourierError as exc:
            failed.append(str(exc))
            continue
        store.journal("scrub_repaired", source=library, path=rel, sha256=item["expected"],
                      reason=f"restored from mirror {mirror}", host=host)
        done.append(rel)
    return done, failed
