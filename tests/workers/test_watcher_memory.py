"""The watcher's memory: what its catch-up scan used is handed back, not kept while it idles."""

from __future__ import annotations

from pathlib import Path

from tests.doubles import RecordingEnqueuer
from tests.workers.watcher_helpers import settings as _settings
from workers.watcher import Watcher

MIB = 1024 * 1024


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class ScanThatUsesMemory(RecordingEnqueuer):
    """A catch-up scan that builds 80 MiB of records, as a source of ~400,000 files would, and
    frees them but a few scattered among them (as a real process keeps a cached string here, a
    log record there): the heap cannot shrink from its top alone."""

    kept: list[bytes] = []

    def enqueue_scan(self, source: str) -> int:
        records = {f"2024/IMG_{i:07d}.jpg": bytes(1000) for i in range(80 * MIB // 1100)}
        self.kept.extend(value for i, value in enumerate(records.values()) if i % 500 == 0)
        del records
        return super().enqueue_scan(source)


def test_memory_of_the_catch_up_scan_goes_back_to_the_system(tmp_path: Path) -> None:
    # Given a watcher whose catch-up scan needs 80 MiB for a moment
    enqueuer = ScanThatUsesMemory()
    watcher = Watcher(_settings(tmp_path), enqueuer)
    before = _rss_mib()
    # When it starts (attaching to the source and running the scan)
    watcher.start()
    try:
        assert watcher.scans_done(timeout=30)  # the scan runs on a thread of its own
        after = _rss_mib()
    finally:
        watcher.stop()
    # Then the scan ran, and the process holds little more than before it
    assert enqueuer.scans == ["phone"]
    assert after - before < 30, f"RSS {before:.0f} MiB before, {after:.0f} MiB after the scan"
