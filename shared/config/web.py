"""The web page's keys: where it listens, its path behind a reverse proxy, its credentials.

The same rule as Flower: the page listens on loopback unless credentials are configured, so a
household's LAN never gets a page that pauses and retries without a password. Credentials are
`web_basic_auth` ("user:password", or `MEDIACOURIER_WEB_BASIC_AUTH` so it stays off disk) or a
bearer token read from `web_token_file`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shared.config.listen import parse_listen
from shared.config.tables import Table, key_at, toml_text
from shared.config.targets import check_file
from shared.errors import ConfigError

WEB_KEYS = ("web_listen", "web_root_path", "web_basic_auth", "web_token_file")
DEFAULT_LISTEN = "127.0.0.1:8080"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class WebConfig:
    listen: str = DEFAULT_LISTEN  # "" : `up` starts no web page
    root_path: str = ""  # "/mediacourier" behind a proxy that forwards that prefix
    basic_auth: str = field(default="", repr=False)  # "user:password[,user2:pw2]"
    token_file: Path | None = None

    @property
    def host(self) -> str:
        return parse_listen(self.listen, "web_listen")[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen, "web_listen")[1]

    @property
    def has_credentials(self) -> bool:
        return bool(self.basic_auth or self.token_file)

    def users(self) -> dict[str, str]:
        """{user: password} of `basic_auth`."""
        pairs = (item.split(":", 1) for item in self.basic_auth.split(",") if item)
        return {user: password for user, password in pairs}

    def token(self) -> str:
        """The bearer token in `token_file` (read when asked, so a rotated file takes effect
        at the next request), or "" when none is configured."""
        if self.token_file is None:
            return ""
        return self.token_file.read_text(encoding="utf-8").strip()


def check_web_credentials(web: WebConfig, where: str) -> None:
    """ConfigError when the page would listen beyond loopback with nobody to ask for a
    password; `where` names the file (or the command-line option) in the message."""
    if web.listen and web.host not in LOOPBACK_HOSTS and not web.has_credentials:
        raise ConfigError(f"{where}: {toml_text(web.listen)} is not loopback: set "
                          "web_basic_auth (or MEDIACOURIER_WEB_BASIC_AUTH) as 'user:password', "
                          "or web_token_file")


def parse_web(top: Table, base: Path) -> WebConfig:
    """The `web_*` top-level keys, checked."""
    listen = top.get("web_listen", DEFAULT_LISTEN, str)
    if listen:
        parse_listen(listen, top.at("web_listen"))
    root_path = top.get("web_root_path", "", str).rstrip("/")
    if root_path and not root_path.startswith("/"):
        raise ConfigError(f"{top.at('web_root_path')}: {toml_text(root_path)} must start with "
                          "'/', e.g. \"/mediacourier\"")
    basic_auth = top.get("web_basic_auth", "", str)
    for item in filter(None, basic_auth.split(",")):
        if ":" not in item or not item.split(":", 1)[1]:
            raise ConfigError(f"{top.at('web_basic_auth')}: each entry must be "
                              "'user:password' (several: 'a:pw1,b:pw2')")
    token_text = top.get("web_token_file", "", str)
    token_file = Path(os.path.abspath(base / os.path.expanduser(token_text))) \
        if token_text else None
    if token_file is not None:
        check_file(token_file, top.at("web_token_file"))
    web = WebConfig(listen, root_path, basic_auth, token_file)
    check_web_credentials(web, key_at(top.where, "web_listen"))
    return web
