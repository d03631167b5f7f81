"""Who may see the page and who may change things, as for Flower.

With credentials configured (`web_basic_auth`, `web_token_file`) every route but `/healthz`
asks for them: HTTP basic auth for a browser, `Authorization: Bearer TOKEN` for a program.
Without them the page only listens on loopback (the configuration refuses anything else).

A state-changing request must be a POST, and a browser's POST must come from the page itself:
a form on another site could otherwise pause a source with the household's stored password.
Browsers send `Origin` (and `Sec-Fetch-Site`) with every cross-site POST, so a POST whose
Origin is not this page's own is refused with 403; a program (curl) sends neither.
"""

from __future__ import annotations

import base64
import hmac
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.config import WebConfig

OPEN_PATHS = ("/healthz",)  # health checks of Docker and Kubernetes carry no password
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
REALM = 'Basic realm="mediacourier", charset="UTF-8"'


def authorized(web: WebConfig, header: str) -> bool:
    """Whether an Authorization header carries one of the configured credentials."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        token = web.token()
        return bool(token) and hmac.compare_digest(value.strip(), token)
    if scheme.lower() != "basic" or not web.basic_auth:
        return False
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    expected = web.users().get(user)
    return expected is not None and hmac.compare_digest(password, expected)


def same_origin(request: Request) -> bool:
    """False for a browser's request from another site (Origin or Sec-Fetch-Site say so)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(origin).netloc == host


class Guard(BaseHTTPMiddleware):
    def __init__(self, app: object, web: WebConfig) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.web = web

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.scope["path"]
        root = request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if path in OPEN_PATHS:
            return await call_next(request)
        if self.web.has_credentials and not authorized(
                self.web, request.headers.get("authorization", "")):
            return JSONResponse({"detail": "credentials required"}, status_code=401,
                                headers={"WWW-Authenticate": REALM})
        if request.method not in SAFE_METHODS and not same_origin(request):
            return JSONResponse({"detail": "cross-site request refused: a change must come "
                                 "from this page"}, status_code=403)
        return await call_next(request)
