"""The household's pages, rendered on the server from the same data as the API: an overview
(refreshed every few seconds by htmx), a file search with the journey, the failures with a
retry button, the controls, the history and the logs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from shared.state import human_size, iso_time
from workers.trace import trace_data
from workers.web.api import deps
from workers.web.data import (
    HISTORY_EVENTS,
    LOG_DIR,
    failures_data,
    history_data,
    log_lines,
    status_data,
)
from workers.web.thumbs import NoThumbnail, thumbnail

HERE = Path(__file__).resolve().parent
NAV = (("/", "Overview"), ("/files", "Find a file"), ("/failures", "Failures"),
       ("/controls", "Sources and targets"), ("/history", "History"), ("/logs", "Logs"))
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["size"] = human_size
router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, title: str, current: str, **context: Any) -> HTMLResponse:
    settings = deps(request).settings
    flower_host = settings.flower_address if settings.flower_address not in ("0.0.0.0", "::") \
        else request.url.hostname
    context = {"title": title, "current": current, "nav": NAV,
               "root": request.scope.get("root_path", ""),
               "flower": f"http://{flower_host}:{settings.flower_port}/",
               "now": iso_time(time.time())[:19].replace("T", " "), **context}
    return templates.TemplateResponse(request, name, context)


def _overview_context(request: Request) -> dict[str, Any]:
    d = deps(request)
    return {"status": status_data(d.settings, d.store, d.workers()),
            "failures": failures_data(d.store)}


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    return _render(request, "overview.html", "What arrived, what waits", "/",
                   **_overview_context(request))


@router.get("/fragments/overview", response_class=HTMLResponse)
def overview_fragment(request: Request) -> HTMLResponse:
    context = {"root": request.scope.get("root_path", ""), **_overview_context(request)}
    return templates.TemplateResponse(request, "_overview.html", context)


@router.get("/files", response_class=HTMLResponse)
def files(request: Request, q: str = "") -> HTMLResponse:
    d = deps(request)
    found = trace_data(d.settings, d.store, q, limit=20) if q else []
    return _render(request, "files.html", "Find a file", "/files", q=q, found=found)


@router.get("/failures", response_class=HTMLResponse)
def failures(request: Request) -> HTMLResponse:
    return _render(request, "failures.html", "Files that failed", "/failures",
                   failures=failures_data(deps(request).store))


@router.get("/fragments/failures", response_class=HTMLResponse)
def failures_fragment(request: Request) -> HTMLResponse:
    context = {"root": request.scope.get("root_path", ""),
               "failures": failures_data(deps(request).store)}
    return templates.TemplateResponse(request, "_failures.html", context)


@router.get("/controls", response_class=HTMLResponse)
def controls(request: Request) -> HTMLResponse:
    d = deps(request)
    return _render(request, "controls.html", "Sources and targets", "/controls",
                   status=status_data(d.settings, d.store))


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, event: str = "", source: str = "", q: str = "",
            offset: int = 0) -> HTMLResponse:
    d = deps(request)
    page = history_data(d.store, 50, max(0, offset), event, source, q)
    query = urlencode({k: v for k, v in (("event", event), ("source", source), ("q", q)) if v})
    names = sorted(set(d.settings.sources) | set(d.settings.libraries))
    return _render(request, "history.html", "History", "/history", page=page, event=event,
                   source=source, q=q, query=query, events=HISTORY_EVENTS, sources=names)


@router.get("/logs", response_class=HTMLResponse)
def logs(request: Request) -> HTMLResponse:
    settings = deps(request).settings
    return _render(request, "logs.html", "Logs", "/logs", logs=log_lines(settings, 100),
                   log_dir=str(Path(settings.data_dir) / LOG_DIR))


@router.get("/thumbs/{library}/{rel:path}")
def thumb(request: Request, library: str, rel: str) -> FileResponse:
    try:
        path = thumbnail(deps(request).settings, library, rel)
    except NoThumbnail as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return FileResponse(path, media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400"})
