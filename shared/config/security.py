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

from shared.config.sections import check_folder
from shared.config.tables import Table, table_at
from shared.config.targets import check_file
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
    where = table_at(name, SECTION)
    table = Table(data, where)
    values = {key: table.get(key, None, str) for key in KEYS}
    table.finish()
    given = [key for key, value in values.items() if value]
    if not given:
        return SecurityConfig()
    if len(given) != len(KEYS):
        missing = next(key for key in KEYS if key not in given)
        raise ConfigError(f"{table.at(missing)}: message signing needs all of {', '.join(KEYS)}")
    paths = {key: Path(os.path.abspath(base / os.path.expanduser(value)))
             for key, value in values.items() if value}
    for key in ("signing_key_file", "signing_cert_file"):
        check_file(paths[key], table.at(key))
    check_folder(paths["cert_store"], table.at("cert_store"))
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
