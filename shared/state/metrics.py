"""mediacourier's own Prometheus metrics, kept in Redis so that every worker process on every
host adds to the same numbers, and served over HTTP by `mediacourier metrics`.

Counters are the journal's per-event counters (`P:counters`); per-stage durations are a
histogram in `P:metrics:stage_seconds` (fields `<stage>\\tbucket\\t<le>`, `<stage>\\tsum`,
`<stage>\\tcount`; buckets are stored per bucket and summed up at scrape time).
"""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator, Mapping
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from shared.state.store import RedisStateStore

if TYPE_CHECKING:
    from prometheus_client.core import HistogramMetricFamily, Metric

# prometheus_client is imported by the code that serves metrics (`mediacourier metrics`), not
# here: every process records timings through this module, and its import added 12 MB to each
# (the watcher's resident memory) and 0.1 s to every command's start.

__all__ = ["RedisCollector", "observe_timings", "serve_metrics"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
           math.inf)
# (journal event counted in P:counters, metric name without _total, help)
COUNTERS = (
    ("ingested", "files_ingested", "Files placed in a library and verified."),
    ("bytes_ingested", "bytes_ingested", "Bytes of the files ingested."),
    ("duplicate", "duplicates", "Files whose content a library already held."),
    ("failed", "failures", "Files that failed (the source is kept)."),
    ("skipped", "skipped", "Files skipped (unchanged, or already handled)."),
    ("rescanned", "rescans", "Rescan commands run for changed folders."),
    ("rescan-failed", "rescan_failures", "Rescan commands that failed or timed out."),
    ("reconciled", "reconciles", "Reconciles of a source."),
    ("scrub_mismatch", "scrub_mismatches", "Library files a scrub found damaged on the disk."),
    ("scrub_repaired", "scrub_repairs", "Damaged library files restored from a mirror copy."),
    ("mirror_conflict", "mirror_conflicts", "Files a mirror found changed on both sides."),
)


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


def observe_timings(store: RedisStateStore, timings: Mapping[str, float]) -> None:
    """Add one file's per-stage durations to the histogram, in one round trip."""
    if not timings:
        return
    fields: dict[str, int | float] = {}
    for stage, seconds in timings.items():
        bound = next(b for b in BUCKETS if seconds <= b)
        fields[f"{stage}\tbucket\t{_le(bound)}"] = 1
        fields[f"{stage}\tsum"] = float(seconds)
        fields[f"{stage}\tcount"] = 1
    store.add_histogram(fields)


class RedisCollector:
    """Reads the numbers from Redis at every scrape (nothing is cached in this process)."""

    def __init__(self, store: RedisStateStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        counts = self.store.counters()
        for event, name, text in COUNTERS:
            family = CounterMetricFamily(f"mediacourier_{name}", text)
            family.add_metric([], counts.get(event, 0))
            yield family
        yield self._stage_histogram()
        in_flight = GaugeMetricFamily("mediacourier_files_in_flight",
                                      "File versions queued and not yet recorded.")
        in_flight.add_metric([], len(self.store.inflight()))
        yield in_flight
        paused = GaugeMetricFamily("mediacourier_paused", "1 for each paused source or target.",
                                   labels=["kind", "name"])
        for field in sorted(self.store.paused()):
            paused.add_metric(field.split(":", 1), 1)
        yield paused

    def _stage_histogram(self) -> HistogramMetricFamily:
        from prometheus_client.core import HistogramMetricFamily

        raw = self.store.histogram()
        stages: dict[str, dict[str, float]] = {}
        for field, value in raw.items():
            stage, _, rest = field.partition("\t")
            stages.setdefault(stage, {})[rest] = float(value)
        family = HistogramMetricFamily("mediacourier_stage_duration_seconds",
                                       "Time spent in each ingest stage, per file.",
                                       labels=["stage"])
        for stage, values in sorted(stages.items()):
            running, buckets = 0.0, []
            for bound in BUCKETS:
                running += values.get(f"bucket\t{_le(bound)}", 0.0)
                buckets.append((_le(bound), running))
            family.add_metric([stage], buckets, sum_value=values.get("sum", 0.0))
        return family


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Scrapes every few seconds would drown the log."""


def serve_metrics(store: RedisStateStore, host: str, port: int) -> WSGIServer:
    """An HTTP server (not yet serving) answering every GET with the metrics text format."""
    from prometheus_client import CollectorRegistry, make_wsgi_app

    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(store))
    server_class = _ThreadingServer
    if ":" in host:
        class _V6(_ThreadingServer):
            address_family = socket.AF_INET6
        server_class = _V6
    return make_server(host, port, make_wsgi_app(registry), server_class=server_class,
                       handler_class=_QuietHandler)
