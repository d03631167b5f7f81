"""The `[security]` table: optional Celery message signing, and redaction of secrets.

With all three keys set, every process of the deployment signs the tasks it sends with its key
and certificate (Celery's `auth` serializer), and a worker runs only messages whose signature
verifies against a certificate in `cert_store`: an unsigned `celery call` is refused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared.config.tables import Table
from shared.errors import ConfigError

SECTION = "security"
KEYS = ("signing_key_file", "signing_cert_file", "cert_store")


@dataclass(frozen=True)
class SecurityConfig:
    signing_key_file: Path | None = None
    signing_cert_file: Path | None = None
    cert_store: Path | None = None

    @property
    def signing(self) -> bool:
        return self.signing_key_file is not None


def parse_security(data: Any, base: Path, name: str) -> SecurityConfig:
    where = f"{name}: {SECTION}"
    table = Table(data, where)
    values = {key: table.get(key, None, str) for key in KEYS}
    table.finish()
    given = [key for key, value in values.items() if value]
    if not given:
        return SecurityConfig()
    if len(given) != len(KEYS):
        missing = next(key for key in KEYS if key not in given)
        raise ConfigError(f"{where}.{missing}: message signing needs all of {', '.join(KEYS)}")
    paths = {key: Path(os.path.abspath(base / os.path.expanduser(value)))
             for key, value in values.items() if value}
    for key in ("signing_key_file", "signing_cert_file"):
        if not paths[key].is_file():
            raise ConfigError(f"{where}.{key}: file {str(paths[key])!r} does not exist")
    if not paths["cert_store"].is_dir():
        raise ConfigError(f"{where}.cert_store: folder {str(paths['cert_store'])!r} does not exist")
    return SecurityConfig(**paths)


def signing_config(security: SecurityConfig) -> dict[str, Any]:
    """Celery settings for the `auth` serializer; results stay JSON (they carry no commands)."""
    if not security.signing:
        return {}
    return {
        "task_serializer": "auth",
        "accept_content": ["auth"],
        "result_accept_content": ["json"],
        "security_key": str(security.signing_key_file),
        "security_certificate": str(security.signing_cert_file),
        "security_cert_store": str(Path(security.cert_store or ".") / "*"),
        "security_digest": "sha256",
    }


_USERINFO = re.compile(r"(?<=://)([^:/@]*):([^@/]*)@")


def redacted_url(url: str) -> str:
    """The URL with its password (and any `password=` query value) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\1:***@", url)
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{user}:***@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
