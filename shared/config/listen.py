"""`HOST:PORT` listen addresses in the configuration, checked when it is loaded."""

from __future__ import annotations

import ipaddress

from shared.errors import ConfigError


def parse_listen(text: str, where: str = "metrics_listen") -> tuple[str, int]:
    """'HOST:PORT' (IPv6 as '[::1]:PORT') -> (host, port); ConfigError naming `where`."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"{where}: {text!r} is not HOST:PORT, e.g. 127.0.0.1:9808")
    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"{where}: port {port} is out of range: must be between 1 and 65535")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(f"{where}: {host!r} is not an IP address") from None
    return host, int(port)
