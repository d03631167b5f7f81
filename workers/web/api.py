"""The JSON API: every route the page uses, documented in the OpenAPI schema at /openapi.json
(and readable at /docs). The page is only one client; `curl` with a token is another."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import redis
from celery import Celery
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from shared.config import Settings
from shared.errors import StoreUnavailable
from shared.state import RedisStateStore
from workers.report import HISTORY_FIELDS
from workers.trace import trace_data
from workers.web.actions import Actions, NotFound
from workers.web.data import (
    failures_data,
    history_data,
    log_lines,
    status_data,
    workers_by_host,
)

WORKERS_TTL = 10.0


@dataclass
class Deps:
    """What every route reads: made once when the app is built."""

    settings: Settings
    store: RedisStateStore
    celery: Celery
    inspect_timeout: float = 1.0
    _workers: tuple[float, dict[str, list[str]]] = (0.0, {})

    def workers(self) -> dict[str, list[str]]:
        """Workers per host, asked at most every WORKERS_TTL seconds: an open overview polls
        every few seconds, and each ask is a broadcast that waits for every worker's answer."""
        at, known = self._workers
        if time.monotonic() - at > WORKERS_TTL:
            known = workers_by_host(self.settings, self.celery, self.inspect_timeout)
            self._workers = (time.monotonic(), known)
        return known

    @property
    def actions(self) -> Actions:
        return Actions(self.settings, self.store, self.celery)


def deps(request: Request) -> Deps:
    return request.app.state.deps


router = APIRouter()
api = APIRouter(prefix="/api", tags=["api"])
Kind = Literal["sources", "targets", "mirrors"]
KIND_OF = {"sources": "source", "targets": "target", "mirrors": "target"}  # a mirror pauses as
# a target: `mediacourier pause target MIRROR`


def _act(call: Any, *args: Any) -> dict[str, Any]:
    try:
        return call(*args)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@router.get("/healthz", tags=["health"], summary="Alive and Redis answers (no credentials)")
def healthz(request: Request) -> JSONResponse:
    try:
        deps(request).store.ping()
    except (StoreUnavailable, redis.RedisError, OSError) as exc:
        return JSONResponse({"ok": False, "redis": str(exc)}, status_code=503)
    return JSONResponse({"ok": True, "redis": "ok"})


@api.get("/status", summary="Sources, libraries, targets, holds, queues, workers, counts")
def status(request: Request) -> dict[str, Any]:
    d = deps(request)
    return status_data(d.settings, d.store, d.workers())


@api.get("/files", summary="Search files by name, path or sha256; each with its journey")
def files(request: Request, q: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
    d = deps(request)
    return {"q": q, "files": trace_data(d.settings, d.store, q, limit=20)}


@api.get("/history", summary="The journal, newest first, paged and filtered (json or csv)",
         response_model=None)
def history(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
            offset: Annotated[int, Query(ge=0)] = 0, event: str = "", source: str = "",
            q: str = "", format: Literal["json", "csv"] = "json") -> dict[str, Any] | Response:
    page = history_data(deps(request).store, limit, offset, event, source, q)
    if format == "json":
        return page
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(page["entries"])
    return PlainTextResponse(out.getvalue(), media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="mediacourier-history.csv"'})


@api.get("/failures", summary="Every file failing now, with its full reason")
def failures(request: Request) -> dict[str, Any]:
    items = failures_data(deps(request).store)
    return {"count": len(items), "failures": items}


@api.post("/failures/{failure_id:path}/retry", summary="Send a failing file through again")
def retry(request: Request, failure_id: str) -> dict[str, Any]:
    return _act(deps(request).actions.retry, failure_id)


@api.post("/{kind}/{name}/pause", summary="Pause a source, target or mirror (work waits)")
def pause(request: Request, kind: Kind, name: str) -> dict[str, Any]:
    return _act(deps(request).actions.set_paused, KIND_OF[kind], name, True)


@api.post("/{kind}/{name}/resume", summary="Resume, and reconcile what arrived meanwhile")
def resume(request: Request, kind: Kind, name: str) -> dict[str, Any]:
    return _act(deps(request).actions.set_paused, KIND_OF[kind], name, False)


@api.post("/sources/{name}/sync", summary="Queue a reconcile of a source; returns the task id")
def sync(request: Request, name: str) -> dict[str, Any]:
    return _act(deps(request).actions.sync, name)


@api.post("/mirrors/{name}/run", summary="Queue a run of a mirror; returns the task id")
def run_mirror(request: Request, name: str) -> dict[str, Any]:
    return _act(deps(request).actions.run_mirror, name)


@api.post("/rescan/{name}/test", summary="What `doctor` checks for one rescan target")
def test_rescan(request: Request, name: str) -> dict[str, Any]:
    return _act(deps(request).actions.test, "rescan", name)


@api.post("/targets/{name}/test", summary="What `doctor` checks for one library or target")
def test_target(request: Request, name: str) -> dict[str, Any]:
    return _act(deps(request).actions.test, "target", name)


@api.get("/logs", summary="The last lines of each process's log")
def logs(request: Request, lines: Annotated[int, Query(ge=1, le=2000)] = 200,
         ) -> dict[str, list[str]]:
    return log_lines(deps(request).settings, lines)


router.include_router(api)
