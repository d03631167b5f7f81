"""REST clients for the photo apps: PhotoPrism's index call and Immich's library scan.

Both return results instead of raising, so a rescan target can tell "try later" (`retry=True`:
5xx, 429, timeouts, connection refused) from "fix the configuration" (`retry=False`: 401/403,
unknown library). The token or key is held privately and never appears in a message or repr.

Endpoints, as checked in the apps' sources:
- PhotoPrism `POST /api/v1/index` (internal/api/index.go): JSON `{"path", "rescan", "cleanup"}`,
  `Authorization: Bearer <token>`; answers 200 only after indexing finished, so the timeout is
  long. `GET /api/v1/status` (internal/api/status.go) is public and answers
  `{"status": "operational"}`; `GET /api/v1/config` (internal/api/config.go) answers 401 unless
  the session/token is valid, so it tells whether the token is accepted.
- Immich `POST /api/libraries/{id}/scan` (server/src/controllers/library.controller.ts,
  admin + `library.update`): 204, queues a scan of the whole library; older servers had the
  controller at `/api/library`. `GET /api/libraries/{id}` (same controller, `library.read`);
  `GET /api/server/ping` (server.controller.ts) answers `{"res": "pong"}` without a key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:  # imported where a request is sent: it costs every command's start-up
    import requests

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppResult:
    """What one API call achieved; `retry` says whether trying again later can help."""

    ok: bool
    status: int  # HTTP status, 0 when no answer came (timeout, refused)
    message: str
    retry: bool


@dataclass(frozen=True)
class Verdict:
    """One line for `mediacourier doctor`."""

    name: str
    ok: bool
    message: str


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail(response: requests.Response) -> str:
    """The app's own error text (JSON 'error'/'message'), else the start of the body."""
    try:
        data: Any = response.json()
    except ValueError:
        return _short(response.text)
    if isinstance(data, dict):
        for key in ("error", "message"):
            if data.get(key):
                value = data[key]
                return _short(" ".join(value) if isinstance(value, list) else str(value))
    return _short(str(data))


class _Client:
    app = "app"
    auth_hint = ""

    def __init__(self, url: str, timeout: float, name: str) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.name = name

    def __repr__(self) -> str:  # no credentials in logs or tracebacks
        return f"{type(self).__name__}({self.url!r}, timeout={self.timeout})"

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _send(self, method: str, path: str, json: Any = None,
              timeout: float | None = None) -> requests.Response | AppResult:
        """The response, or a retryable AppResult when no answer came."""
        import requests

        target = f"{self.url}{path}"
        try:
            return requests.request(method, target, json=json, headers=self._headers(),
                                    timeout=timeout or self.timeout, allow_redirects=False)
        except requests.Timeout:
            return AppResult(False, 0, f"{self.app} at {self.url}: no answer to {method} {path} "
                             f"within {timeout or self.timeout:g}s", retry=True)
        except requests.RequestException as exc:
            return AppResult(False, 0, f"{self.app} at {self.url} unreachable: "
                             f"{_short(str(exc))}", retry=True)

    def _failure(self, response: requests.Response, what: str) -> AppResult:
        status = response.status_code
        detail = _detail(response)
        if status in (401, 403):
            return AppResult(False, status, f"{self.app} at {self.url} refused {what} "
                             f"(HTTP {status} {detail}): {self.auth_hint}", retry=False)
        retry = status >= 500 or status == 429
        return AppResult(False, status, f"{self.app} at {self.url}: {what} failed with HTTP "
                         f"{status}: {detail}", retry=retry)


class PhotoPrismClient(_Client):
    """PhotoPrism's REST index call, with an app password / access token as bearer token."""

    app = "PhotoPrism"
    auth_hint = ("check the token (create one with `photoprism auth add -n mediacourier "
                 "-s \"*\" <user>`, or an app password under Settings > Account)")

    def __init__(self, url: str, token: str, timeout: float = 3600,
                 name: str = "photoprism") -> None:
        super().__init__(url, timeout, name)
        self._token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    def index(self, path: str, rescan: bool = False, cleanup: bool = False) -> AppResult:
        """Index `path` (relative to PhotoPrism's originals folder); returns when done."""
        body = {"path": path, "rescan": rescan, "cleanup": cleanup}
        response = self._send("POST", "/api/v1/index", json=body)
        if isinstance(response, AppResult):
            return response
        if response.status_code == 200:
            return AppResult(True, 200, _detail(response) or f"indexed {path!r}", retry=False)
        return self._failure(response, f"indexing {path!r}")

    def check(self) -> Verdict:
        status = self._send("GET", "/api/v1/status", timeout=min(self.timeout, 10))
        if isinstance(status, AppResult):
            return Verdict(self.name, False, status.message)
        if status.status_code != 200:
            return Verdict(self.name, False, f"{self.url}/api/v1/status answered HTTP "
                           f"{status.status_code}: is this PhotoPrism's base URL?")
        config = self._send("GET", "/api/v1/config", timeout=min(self.timeout, 10))
        if isinstance(config, AppResult):
            return Verdict(self.name, False, config.message)
        if config.status_code != 200:
            return Verdict(self.name, False, self._failure(config, "the token").message)
        return Verdict(self.name, True, f"PhotoPrism at {self.url} reachable, token accepted")


class ImmichClient(_Client):
    """Immich's library scan, with an API key of an admin user (`library.update`)."""

    app = "Immich"
    auth_hint = ("check the API key (Account Settings > API Keys, of an admin user, with the "
                 "library.read and library.update permissions)")
    PATHS = ("/api/libraries", "/api/library")  # current, then servers before v1.118

    def __init__(self, url: str, api_key: str, timeout: float = 30,
                 name: str = "immich") -> None:
        super().__init__(url, timeout, name)
        self._api_key = api_key
        self._base: str | None = None  # the library path prefix that answered

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "Accept": "application/json"}

    def _library_call(self, method: str, library_id: str, suffix: str) -> requests.Response | \
            AppResult:
        """Try the current path, then the old one when the server answers 404 (unknown route)."""
        bases = [self._base] if self._base else list(self.PATHS)
        response: requests.Response | AppResult | None = None
        for base in bases:
            response = self._send(method, f"{base}/{quote(library_id, safe='')}{suffix}")
            if isinstance(response, AppResult) or response.status_code != 404:
                if not isinstance(response, AppResult) and response.status_code < 400:
                    self._base = base
                return response
        assert response is not None
        return response

    def scan_library(self, library_id: str) -> AppResult:
        """Queue a scan of the whole external library (Immich has no sub-path scan)."""
        response = self._library_call("POST", library_id, "/scan")
        if isinstance(response, AppResult):
            return response
        if response.status_code in (200, 201, 204):
            return AppResult(True, response.status_code, f"scan of library {library_id} queued",
                             retry=False)
        if response.status_code == 404:
            return AppResult(False, 404, f"Immich at {self.url}: no library {library_id!r} "
                             f"(HTTP 404 at {' and '.join(self.PATHS)})", retry=False)
        return self._failure(response, f"the scan of library {library_id}")

    def check(self, library_id: str | None = None) -> Verdict:
        ping = self._send("GET", "/api/server/ping", timeout=min(self.timeout, 10))
        if isinstance(ping, AppResult):
            return Verdict(self.name, False, ping.message)
        if ping.status_code == 404:  # servers before v1.106 had /api/server-info
            ping = self._send("GET", "/api/server-info/ping", timeout=min(self.timeout, 10))
            if isinstance(ping, AppResult):
                return Verdict(self.name, False, ping.message)
        if ping.status_code != 200:
            return Verdict(self.name, False, f"{self.url}/api/server/ping answered HTTP "
                           f"{ping.status_code}: is this Immich's base URL?")
        if library_id:
            answer = self._library_call("GET", library_id, "")
            what = f"library {library_id}"
        else:
            answer = self._send("GET", "/api/libraries")
            what = "the library list"
        if isinstance(answer, AppResult):
            return Verdict(self.name, False, answer.message)
        if answer.status_code == 200:
            found = f", library {library_id} found" if library_id else ""
            return Verdict(self.name, True, f"Immich at {self.url} reachable, key accepted{found}")
        if answer.status_code in (400, 404) and library_id:
            return Verdict(self.name, False, f"Immich at {self.url}: key accepted but no library "
                           f"{library_id!r} (HTTP {answer.status_code})")
        return Verdict(self.name, False, self._failure(answer, what).message)
