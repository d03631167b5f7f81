"""A stand-in HTTP server that follows the documented PhotoPrism and Immich APIs (NOT the apps).

It answers the routes and status codes the apps document (see shared/rescan/clients.py for the
sources), checks the auth headers the way they do, and records every request so contract tests
can assert what the client sent. `faults` injects answers for the next requests: an HTTP status,
or "hang" (answer only after `hang_seconds`, to provoke the client's timeout).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class AppStandIn:
    token: str = "pp-token"
    api_key: str = "immich-key"
    library_id: str = "0f5c5f43-2b0e-4d7e-9f57-4c1c8e2f7a11"
    immich_old_paths: bool = False  # a server before the /api/libraries rename
    hang_seconds: float = 2.0
    faults: list[int | str] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> AppStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                standin._handle(self)

            def do_POST(self) -> None:
                standin._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # routing -------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.seen.append(Seen(request.command, request.path, headers, body))
        if self.faults:
            fault = self.faults.pop(0)
            if fault == "hang":
                time.sleep(self.hang_seconds)
                return self._answer(request, 200, {"message": "too late"})
            return self._answer(request, int(fault), {"error": "Internal Server Error"})
        status, answer = self._route(request.command, request.path, headers, body)
        self._answer(request, status, answer)

    def _route(self, method: str, path: str, headers: dict[str, str],
               body: Any) -> tuple[int, Any]:
        if path.startswith("/api/v1/"):
            return self._photoprism(method, path, headers, body)
        return self._immich(method, path, headers)

    def _photoprism(self, method: str, path: str, headers: dict[str, str],
                    body: Any) -> tuple[int, Any]:
        if (method, path) == ("GET", "/api/v1/status"):
            return 200, {"status": "operational"}  # public
        authorised = headers.get("authorization") == f"Bearer {self.token}"
        if (method, path) == ("GET", "/api/v1/config"):
            return (200, {"name": "PhotoPrism"}) if authorised else (401, {"error":
                                                                          "Unauthorized"})
        if (method, path) == ("POST", "/api/v1/index"):
            if not authorised:
                return 401, {"error": "Unauthorized"}
            if headers.get("content-type") != "application/json" or not isinstance(body, dict):
                return 400, {"error": "Invalid request"}
            return 200, {"message": "indexing completed in 0 s"}
        return 404, {"error": "Not found"}

    def _immich(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        if (method, path) == ("GET", "/api/server/ping"):
            if self.immich_old_paths:
                return _immich_404(method, path)
            return 200, {"res": "pong"}
        if (method, path) == ("GET", "/api/server-info/ping") and self.immich_old_paths:
            return 200, {"res": "pong"}
        prefix = "/api/library" if self.immich_old_paths else "/api/libraries"
        match = re.fullmatch(re.escape(prefix) + r"(?:/([^/]+)(/scan)?)?", path)
        if not match:
            return _immich_404(method, path)
        if headers.get("x-api-key") != self.api_key:
            return 401, {"message": "Invalid API key", "error": "Unauthorized",
                         "statusCode": 401}
        library, scan = match.groups()
        if library is None:
            return (200, [{"id": self.library_id}]) if method == "GET" else _immich_404(method,
                                                                                        path)
        if library != self.library_id:
            return 400, {"message": "Library not found", "error": "Bad Request",
                         "statusCode": 400}
        if scan and method == "POST":
            return 204, None
        if not scan and method == "GET":
            return 200, {"id": library, "name": "photos"}
        return _immich_404(method, path)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        request.send_response(status)
        if data:
            request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        with contextlib.suppress(OSError):  # the client gave up waiting (timeout tests)
            request.wfile.write(data)


def _immich_404(method: str, path: str) -> tuple[int, Any]:
    # What NestJS answers for a route it does not have.
    return 404, {"message": f"Cannot {method} {path}", "error": "Not Found", "statusCode": 404}
