"""`mediacourier.mirror`: keep a target an exact, verified replica of a local tree."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from shared.errors import DestinationFull, FileBusy, MirrorRefused, RetryableError
from shared.mirror import (
    MirrorSummary,
    Progress,
    mirror_config,
    plan_dict,
    plan_for,
    record_refusal,
    record_run,
    run_named_mirror,
)
from shared.remote import open_destination
from shared.state import hold_for, lift_target_full, recheck_cap, target_gate
from tasks.deliveries import counted, refuse_poison
from tasks.gates import out_of_retries, pass_gates, retry_later, wait_for_space
from tasks.runtime import context_of, settings_of

PROGRESS_EVERY = 0.5  # seconds between two task-state updates (Flower polls the backend)


@shared_task(name="mediacourier.mirror", bind=True)
def mirror(self: Task, name: str, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
    """Plan (dry run) or run the mirror `name`; progress goes to the task state for Flower."""
    settings = settings_of(self.app)
    if not isinstance(name, str) or not isinstance(dry_run, bool) or not isinstance(force, bool):
        # JSON from anyone who can reach the broker: "false" must not mean --force.
        raise TypeError(f"mediacourier.mirror takes (name: str, dry_run: bool, force: bool), got "
                        f"({name!r}, {dry_run!r}, {force!r})")
    config = mirror_config(settings, name)  # UnknownMirror for a name not configured
    if dry_run:
        destination = open_destination(settings, config.target)
        try:
            return {"mirror": name, "dry_run": True,
                    **plan_dict(plan_for(settings, config, destination))}
        finally:
            destination.close()
    store = context_of(self.app).store
    # Pausing the mirror or its target holds the run (a dry run changes nothing, so it goes on);
    # a target held full: wait, or be the run that tries whether space has come back.
    trial = pass_gates(
        self, lambda: hold_for(store, targets=[name, config.target], cap=recheck_cap(settings)),
        lambda: target_gate(store, config.target, recheck_cap(settings)))
    host = socket.gethostname()
    summary = MirrorSummary()
    try:
        with counted(self, context_of(self.app)) as delivery, \
                store.lock(f"mirror:{name}", ttl=settings.lease_seconds):
            refuse_poison(self, delivery)  # a run that kills its worker again and again
            run_named_mirror(settings, name, bool(force), _reporter(self), summary=summary,
                             store=store)
    except FileBusy:
        return {"mirror": name, "skipped": "a run of this mirror is already going on"}
    except MirrorRefused as exc:
        record_refusal(store, config, str(exc), host)
        raise
    except DestinationFull as exc:
        wait_for_space(self, store, settings, config.target, str(exc))
    except RetryableError as exc:
        # The target is away (a NAS rebooting, a disk not mounted): try again later.
        if out_of_retries(self, settings):
            raise
        retry_later(self, settings, exc)
    except SoftTimeLimitExceeded:
        # A first mirror of a big tree takes longer than one task may run: record what this
        # run did and continue in a new one (it re-plans, so only what is missing is sent).
        # A run that got nothing done would loop forever: it fails instead.
        record_run(store, config, summary, host, interrupted=True)
        if summary.copied + summary.updated + summary.renamed + summary.deleted == 0:
            raise
        raise self.retry(countdown=1, max_retries=None) from None
    record_run(store, config, summary, host)
    full = next((e for e in summary.errors if e.full), None)
    if full is not None:  # wait for space (not a retry); the next run sends only what is missing
        wait_for_space(self, store, settings, config.target, full.reason)
    if trial:
        lift_target_full(store, trial)
    result = {"mirror": name, **summary.as_dict()}
    result["errors"] = [[e.rel_path, e.action, e.reason] for e in summary.errors]
    if any(e.retryable for e in summary.errors) and not out_of_retries(self, settings):
        # The target hiccuped: the next run re-plans, so only what is still missing is sent.
        retry_later(self, settings)
    return result


def _reporter(task: Task) -> Any:
    lock = threading.Lock()
    last = [0.0]
    # Read here: `request` is thread-local, and transfers report from their own threads.
    task_id, hostname = task.request.id, task.request.hostname

    def report(progress: Progress) -> None:
        now = time.monotonic()
        final = progress.done == progress.total
        with lock:
            if not final and now - last[0] < PROGRESS_EVERY:
                return
            last[0] = now
            if task_id:
                meta = progress.meta()
                # The result backend for clients polling the task; a `task-progress` event
                # for Flower, which shows it as the task's state (PROGRESS) with these fields.
                task.update_state(task_id=task_id, state="PROGRESS", meta=meta)
                with task.app.events.default_dispatcher(hostname=hostname) as dispatcher:
                    dispatcher.send("task-progress", uuid=task_id, **meta)

    return report
