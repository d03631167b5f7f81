"""What the page's buttons do: the same operations as `pause`, `resume`, `sync`, `mirror` and
`doctor`, each for one thing, returning what happened instead of printing it.

Work is queued through Celery (`send_task`): the web process copies nothing itself, so a slow
NAS never makes the page hang, and the answer carries the task id to look up in Flower.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery

from shared.config import Settings
from shared.errors import ConfigError, UnknownSource
from shared.state import RedisStateStore, check_name, sources_to_catch_up
from tasks.enqueue import CeleryEnqueuer
from tasks.runtime import context_of
from workers.report import doctor_checks


class NotFound(LookupError):
    """Raised when a route names a source, target, mirror or failure the deployment does not
    have; the API answers 404 with the message."""


@dataclass
class Actions:
    settings: Settings
    store: RedisStateStore
    app: Celery

    def set_paused(self, kind: str, name: str, paused: bool) -> dict[str, Any]:
        """Pause or resume a source or target; a resume reconciles what arrived meanwhile."""
        try:
            check_name(self.settings, kind, name)
        except (ConfigError, UnknownSource) as exc:
            raise NotFound(str(exc)) from None
        changed = self.store.set_paused(kind, name, paused)
        if changed:  # one pause is one journal entry, however often it is asked for
            self.store.journal("paused" if paused else "resumed", kind=kind, name=name)
        reconciling: list[str] = []
        if not paused:
            reconciling = sources_to_catch_up(self.settings, kind, name)
            for source in reconciling:
                self.app.send_task("mediacourier.reconcile", args=[source])
            if kind == "target" and name in self.settings.rescan_targets:
                self.app.send_task("mediacourier.flush_rescans", args=[name])
        return {"kind": kind, "name": name, "paused": paused, "changed": changed,
                "reconciling": reconciling}

    def sync(self, source: str) -> dict[str, Any]:
        """A reconcile of the source on the workers: every new or changed file is queued."""
        if source not in self.settings.sources:
            raise NotFound(f"no source named {source!r}")
        result = self.app.send_task("mediacourier.reconcile", args=[source])
        return {"source": source, "task_id": result.id}

    def run_mirror(self, mirror: str) -> dict[str, Any]:
        if mirror not in self.settings.mirrors:
            raise NotFound(f"no mirror named {mirror!r}")
        result = self.app.send_task("mediacourier.mirror", args=[mirror])
        return {"mirror": mirror, "task_id": result.id}

    def retry(self, failure_id: str) -> dict[str, Any]:
        """Send a failing file through the pipeline again, as the watcher would; its failure
        is cleared by the outcome (a success removes it, a new failure replaces it)."""
        source, _, rel = failure_id.partition("/")
        failing = {(f.get("source"), f.get("path")) for f in self.store.failures()}
        if (source, rel) not in failing or source not in self.settings.sources:
            raise NotFound(f"no failing file {failure_id!r}")
        path = Path(self.settings.sources[source].path) / rel
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise NotFound(f"{path} is no longer in the source: nothing to retry") from None
        queued = CeleryEnqueuer(self.app, context_of(self.app)).enqueue_file(
            source, rel, info.st_size, info.st_mtime_ns)
        why = "" if queued else "it is already queued, or its source or library is paused"
        return {"id": failure_id, "queued": queued, "reason": why}

    def test(self, kind: str, name: str) -> dict[str, Any]:
        """What `doctor` checks for one rescan target, library, target or mirror."""
        names = {"rescan": [f"rescan {name}"],
                 "target": [f"library {name}", f"mirror {name}", f"rescan {name}",
                            f"syncthing {name}"]}[kind]
        checks = [(label, check) for label, check in doctor_checks(self.settings, _no_ping)
                  if label in names or label.startswith(tuple(n + " " for n in names))]
        if not checks:
            raise NotFound(f"nothing named {name!r} to test as a {kind}")
        results = []
        for label, check in checks:
            try:
                results.append({"check": label, "ok": True, "detail": check()})
            except Exception as exc:  # noqa: BLE001 - a failed check is the answer, not an error
                results.append({"check": label, "ok": False, "detail": str(exc) or repr(exc)})
        return {"kind": kind, "name": name, "ok": all(r["ok"] for r in results),
                "checks": results}


def _no_ping() -> str:
    return "not checked here"
