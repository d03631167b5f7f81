"""Scrub: re-read a library's unchanged files, find the ones whose bytes rotted (`scan`),
remember them (`ledger`: the mirror plan skips them), and restore them from a verified mirror
copy (`repair`, reading back through `fetch`)."""

from shared.scrub.fetch import fetch_backup, open_backup
from shared.scrub.ledger import ScrubLedger
from shared.scrub.repair import repair_damaged, repair_file, repairer
from shared.scrub.scan import ScrubSummary, library_root, scrub_library

__all__ = [
    "ScrubLedger",
    "ScrubSummary",
    "fetch_backup",
    "library_root",
    "open_backup",
    "repair_damaged",
    "repair_file",
    "repairer",
    "scrub_library",
]
