"""A folder's entries by stem, listed at most once a second while the folder is unchanged.

A set's mates are the files of its folder with the same stem. Listing the folder again for
each of its files made placing a 5,000-file camera folder quadratic; one listing serves a
whole batch. The folder's mtime is checked on every question, so an entry added or removed
since lists it again, and a listing taken within a clock tick of the last change is not kept.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

MAX_AGE = 1.0  # seconds a listing is trusted while the folder's mtime is unchanged
MAX_FOLDERS = 64
# File times tick coarsely (a few ms): an entry added in the same tick as a listing leaves the
# folder's mtime as it was. A listing taken this soon after the last change is not kept.
SETTLED_NS = 50_000_000
_listings: OrderedDict[str, tuple[float, int, dict[str, tuple[str, ...]]]] = OrderedDict()
_lock = threading.Lock()


def names_with_stem(folder: str, stem: str) -> tuple[str, ...]:
    """The names in `folder` whose stem (lower-cased, before the last dot) is `stem`."""
    try:
        changed = os.stat(folder).st_mtime_ns
    except OSError:
        return ()
    now = time.monotonic()
    with _lock:
        known = _listings.get(folder)
    if known is None or known[1] != changed or now - known[0] > MAX_AGE:
        try:
            names = os.listdir(folder)
        except OSError:
            return ()
        by_stem: dict[str, list[str]] = {}
        for name in names:
            by_stem.setdefault(os.path.splitext(name)[0].lower(), []).append(name)
        known = (now, changed, {key: tuple(group) for key, group in by_stem.items()})
        if time.time_ns() - changed < SETTLED_NS:
            return known[2].get(stem, ())
        with _lock:
            _listings[folder] = known
            _listings.move_to_end(folder)
            while len(_listings) > MAX_FOLDERS:
                _listings.popitem(last=False)
    return known[2].get(stem, ())
