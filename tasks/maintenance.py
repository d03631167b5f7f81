"""Scheduled and coalesced work: reconciliation, the in-flight sweeper and rescans."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from shared.errors import LeaseHeld, RetryableError, UnknownSource
from shared.executors import CommandExecutor
from shared.ingest import Context
from shared.rescan import flush_rescans, make_executor
from shared.source import journal_refusal
from shared.state import hold_for, recheck_cap, rescan_gate
from tasks.deliveries import counted, refuse_poison
from tasks.enqueue import reconcile_source, resend_abandoned
from tasks.gates import out_of_retries, pass_gates, retry_later
from tasks.runtime import settings_of, task_context

log = logging.getLogger(__name__)


@shared_task(name="mediacourier.reconcile", bind=True)
def reconcile(self: Task, source: str, followup: bool = False) -> dict[str, Any]:
    """Walk a source and its library, compare with the records, enqueue what is new."""
    settings = settings_of(self.app)
    ctx = task_context(self)
    if not isinstance(source, str) or source not in settings.sources:
        known = ", ".join(settings.sources)
        raise _refused(ctx, "mediacourier.reconcile", source,
                       f"no source named {source!r}; configured: {known}")
    if not isinstance(followup, bool):
        raise _refused(ctx, "mediacourier.reconcile", source, "mediacourier.reconcile takes "
                       f"(source: str, followup: bool), got followup={followup!r}")
    flow = settings.flow_fed_by(source)
    if flow is not None:  # sent by resume, the web page or a fetch: the flow takes the files
        log.info("reconcile of %s skipped: the source is fed to flow %s", source, flow.name)
        return {"skipped": f"source {source} is fed to flow {flow.name}; its files go through "
                           "the flow, not reconciled into its library"}
    try:
        with counted(self, ctx) as delivery, \
                ctx.store.lock(f"reconcile:{source}", ttl=settings.lease_seconds):
            refuse_poison(self, delivery)  # a walk that kills its worker again and again
            return reconcile_source(self.app, ctx, source, followup)
    except LeaseHeld:
        return {"skipped": "a reconcile of this source is already running"}


@shared_task(name="mediacourier.sweep_inflight", bind=True)
def sweep_inflight(self: Task) -> dict[str, Any]:
    """Send again the files whose message was lost (beat, every minute; see
    shared/source/sweep.py), forget in-flight markers of versions that are gone."""
    ctx = task_context(self)
    try:
        with ctx.store.lock("sweep-inflight", ttl=ctx.settings.lease_seconds):
            return resend_abandoned(self.app, ctx)
    except LeaseHeld:
        return {"skipped": "a sweep is already running"}


def _refused(ctx: Context, task: str, name: Any, message: str) -> UnknownSource:
    """A name argument that is not configured: journaled as refused; nothing was touched."""
    error = UnknownSource(message)
    journal_refusal(ctx.store, error, task, name)
    return error


# One executor (a Docker client, an SSH connection) and REST client per target per process.
_EXECUTORS: dict[str, CommandExecutor] = {}
_CLIENTS: dict[str, Any] = {}


def executor_for(settings: Any, target: str) -> CommandExecutor:
    if target not in _EXECUTORS:
        _EXECUTORS[target] = make_executor(settings, settings.rescan_targets[target])
    return _EXECUTORS[target]


@shared_task(name="mediacourier.flush_rescans", bind=True)
def flush_rescans_task(self: Task, target: str) -> dict[str, Any]:
    """Run a rescan target's command for the folders that changed in this debounce window."""
    settings = settings_of(self.app)
    ctx = task_context(self)
    if not isinstance(target, str) or target not in settings.rescan_targets:
        raise _refused(ctx, "mediacourier.flush_rescans", target,
                       f"no rescan target named {target!r}; configured: "
                       f"{', '.join(settings.rescan_targets) or 'none'}")
    pass_gates(self, lambda: hold_for(ctx.store, targets=[target], cap=recheck_cap(settings))
               or rescan_gate(ctx.store, settings, target))  # never for a library not there
    roots = [str(lib.path) for lib in settings.libraries.values()]
    with counted(self, ctx) as delivery:
        refuse_poison(self, delivery)
        try:
            report = flush_rescans(settings.rescan_targets[target], ctx.store,
                                   executor_for(settings, target), roots, _CLIENTS)
        except RetryableError as exc:
            if out_of_retries(self, settings):
                raise
            retry_later(self, settings, exc)
    return {"target": report.target, "folders": list(report.folders),
            "seconds": round(report.seconds, 3), "counts": report.counts}
