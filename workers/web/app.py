"""`mediacourier web`: the household's page and its JSON API, one uvicorn process.

`up` starts it on `web_listen` (127.0.0.1:8080 by default); compose runs it as its own
service. It reads Redis and sends Celery tasks; it never touches a photo except to read one
for a thumbnail (cached in the data dir)."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import redis
import uvicorn
from celery import Celery
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from shared.config import (
    Settings,
    WebConfig,
    broker_url,
    check_web_credentials,
    load_settings,
    parse_listen,
)
from shared.errors import MediacourierError
from shared.state import RedisStateStore
from workers.app import celery_app
from workers.exit_codes import code_for
from workers.logs import configure_logging
from workers.web import api, pages
from workers.web.api import Deps
from workers.web.guard import Guard

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings, store: RedisStateStore | None = None,
               celery: Celery | None = None, web: WebConfig | None = None) -> FastAPI:
    """The ASGI app; `web` overrides the configured listen address and credentials."""
    web = web or settings.web
    store = store or RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    app = FastAPI(title="mediacourier", version="1",
                  description="What arrived, what is stuck and why; pause, retry, test.",
                  root_path=web.root_path)
    app.state.deps = Deps(settings, store, celery or celery_app(settings))
    app.add_middleware(Guard, web=web)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    return app


def serve(settings: Settings, listen: str = "") -> int:
    """Serve until SIGINT or SIGTERM (uvicorn's own handlers stop it cleanly)."""
    web = settings.web
    if listen:
        parse_listen(listen, "--listen")
        web = WebConfig(listen, web.root_path, web.basic_auth, web.token_file)
        check_web_credentials(web, "--listen")
    store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    store.ping()  # no Redis: one line now, not a page of errors at the first request
    app = create_app(settings, store, web=web)
    # Bound before the line is printed: once it says so, the page answers (port 0: any).
    family = socket.AF_INET6 if ":" in web.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((web.host, web.port))
    sock.listen(128)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"web on http://{shown}:{port}{web.root_path}/", flush=True)
    # uvicorn's access log would be a line per thumbnail: warnings and errors only.
    # A page left open keeps a connection: `up` gives the web child 3 s to stop.
    config = uvicorn.Config(app, log_level="warning", proxy_headers=True,
                            forwarded_allow_ips="127.0.0.1", timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m workers.web.app [--listen HOST:PORT]`, which `mediacourier web` runs: the
    configuration comes from the environment `mediacourier` set up (MEDIACOURIER_CONFIG)."""
    parser = argparse.ArgumentParser(prog="mediacourier web")
    parser.add_argument("--listen", default="")
    args = parser.parse_args(argv)
    configure_logging("web")
    try:
        return serve(load_settings(), args.listen)
    except (MediacourierError, redis.RedisError, OSError) as exc:
        print(f"mediacourier web: {exc}", file=sys.stderr, flush=True)
        return code_for(exc) if isinstance(exc, MediacourierError) else 1


if __name__ == "__main__":
    sys.exit(main())
