"""A small client of Syncthing's REST API (header `X-API-Key`), for the delivery check and doctor.

Endpoints (docs.syncthing.net/dev/rest.html): `GET /rest/system/ping`, `GET /rest/db/completion`,
`GET /rest/db/file` (404 when the file is not in the folder's index), `POST /rest/db/scan`
(returns once the scan is done), `GET /rest/system/connections` (every configured device, with
`connected`), `GET /rest/config/folders/<id>` (404 for an unknown folder). Without a valid key
Syncthing answers 403 "CSRF Error".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.errors import PermanentError, RetryableError


class SyncthingUnreachable(RetryableError):
    """Raised when Syncthing's REST API does not answer (refused, timed out, 5xx)."""


class SyncthingRefused(PermanentError):
    """Raised when Syncthing rejects the API key (403) or names an unknown folder."""


@dataclass(frozen=True)
class Completion:
    """The local node's view of how far a device has got with a folder."""

    completion: float
    need_items: int
    need_bytes: int


@dataclass(frozen=True)
class FileInfo:
    """A file in the folder's index: its global version and the connected devices that have it."""

    name: str
    size: int
    available_on: frozenset[str]
    local_is_global: bool


class SyncthingClient:
    def __init__(self, url: str, api_key: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:  # the key stays out of logs and tracebacks
        return f"SyncthingClient({self.url!r})"

    def _call(self, method: str, path: str, params: dict[str, str] | None = None,
              timeout: float | None = None, allow_404: bool = False) -> Any:
        import requests  # here: its import costs every command's start-up (shared/remote/wire.py)

        try:
            answer = requests.request(method, f"{self.url}{path}", params=params,
                                      headers={"X-API-Key": self._api_key},
                                      timeout=timeout or self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise SyncthingUnreachable(f"Syncthing at {self.url} unreachable: {exc}") from None
        if answer.status_code == 404 and allow_404:
            return None
        if answer.status_code in (401, 403):
            raise SyncthingRefused(f"Syncthing at {self.url} refused the API key (HTTP "
                                   f"{answer.status_code} {answer.text.strip()[:60]}): copy it "
                                   "from Actions > Settings > GUI > API Key")
        if answer.status_code >= 500:
            raise SyncthingUnreachable(f"Syncthing at {self.url}: {method} {path} failed with "
                                       f"HTTP {answer.status_code}: {answer.text.strip()[:200]}")
        if answer.status_code >= 400:
            raise SyncthingRefused(f"Syncthing at {self.url}: {method} {path} answered HTTP "
                                   f"{answer.status_code}: {answer.text.strip()[:200]}")
        return answer.json() if answer.content else None

    def reachable(self) -> bool:
        """True when anything answers HTTP at the URL (with or without a valid key)."""
        import requests

        try:
            requests.get(f"{self.url}/rest/system/ping", timeout=self.timeout)
        except requests.RequestException:
            return False
        return True

    def ping(self) -> None:
        answer = self._call("GET", "/rest/system/ping")
        if not isinstance(answer, dict) or answer.get("ping") != "pong":
            raise SyncthingRefused(f"{self.url}/rest/system/ping answered {answer!r}: is this "
                                   "Syncthing's GUI/REST address?")

    def folder_config(self, folder: str) -> dict[str, Any] | None:
        return self._call("GET", f"/rest/config/folders/{quote(folder, safe='')}",
                          allow_404=True)

    def connections(self) -> dict[str, dict[str, Any]]:
        """Device ID -> connection state, for every device this Syncthing knows."""
        return dict((self._call("GET", "/rest/system/connections") or {})
                    .get("connections", {}))

    def completion(self, folder: str, device: str) -> Completion:
        data = self._call("GET", "/rest/db/completion", {"folder": folder, "device": device})
        return Completion(float(data.get("completion", 0)), int(data.get("needItems", 0)),
                          int(data.get("needBytes", 0)))

    def file(self, folder: str, name: str) -> FileInfo | None:
        """None when the file is not in the folder's index (not scanned yet, or ignored)."""
        # Syncthing indexes names in NFC (and, with autoNormalize, renames NFD files to NFC).
        name = unicodedata.normalize("NFC", name)
        data = self._call("GET", "/rest/db/file", {"folder": folder, "file": name},
                          allow_404=True)
        if data is None:
            return None
        glob, local = data.get("global") or {}, data.get("local") or {}
        devices = frozenset(item["id"] for item in data.get("availability") or [])
        return FileInfo(name, int(glob.get("size", -1)), devices,
                        local.get("version") == glob.get("version"))

    def scan(self, folder: str, sub: str = "", timeout: float = 300.0) -> None:
        """Scan a subfolder now; Syncthing answers once the scan has finished."""
        params = {"folder": folder}
        if sub:
            params["sub"] = sub
        self._call("POST", "/rest/db/scan", params, timeout=timeout)
