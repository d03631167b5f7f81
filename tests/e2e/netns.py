"""Network namespaces as "machines" for multi-host tests: a hub with a bridge, spokes on veths.

Names are unique per test run (`mc-<random>-<role>`); everything lives inside the namespaces this
module creates (the veth pairs are created inside the hub), so nothing touches the host's own
network, and deleting the namespaces removes every link. Processes are stopped by PID by the
caller before `delete()`.
"""

from __future__ import annotations

import os
import random
import subprocess
import uuid
from dataclasses import dataclass, field

import pytest

ALLOW_ENV = "MEDIACOURIER_ALLOW_NO_NETNS"


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")


@dataclass
class Namespace:
    name: str
    address: str

    def run(self, argv: list[str]) -> list[str]:
        """`argv` run inside this namespace (`ip netns exec` execs it: same PID)."""
        return ["ip", "netns", "exec", self.name, *argv]


@dataclass
class StarNetwork:
    """A hub namespace holding a bridge on 10.x.y.1/24; each spoke gets 10.x.y.N on a veth."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: str = field(default_factory=lambda: f"10.{random.randint(64, 250)}."
                                                f"{random.randint(1, 250)}")
    created: list[str] = field(default_factory=list)
    hub: Namespace | None = None

    def _add(self, role: str, address: str) -> Namespace:
        name = f"mc-{self.tag}-{role}"
        _ip("netns", "add", name)
        self.created.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return Namespace(name, address)

    def start(self, role: str = "hub") -> Namespace:
        self.hub = self._add(role, f"{self.subnet}.1")
        _ip("-n", self.hub.name, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.hub.name, "addr", "add", f"{self.hub.address}/24", "dev", "br0")
        _ip("-n", self.hub.name, "link", "set", "br0", "up")
        return self.hub

    def spoke(self, role: str) -> Namespace:
        assert self.hub is not None, "start() first"
        index = len(self.created) + 1
        spoke = self._add(role, f"{self.subnet}.{index}")
        hub_end = f"h{index}"
        _ip("-n", self.hub.name, "link", "add", hub_end, "type", "veth", "peer", "name", "eth0",
            "netns", spoke.name)
        _ip("-n", self.hub.name, "link", "set", hub_end, "master", "br0", "up")
        _ip("-n", spoke.name, "addr", "add", f"{spoke.address}/24", "dev", "eth0")
        _ip("-n", spoke.name, "link", "set", "eth0", "up")
        return spoke

    def delete(self) -> None:
        errors = []
        for name in reversed(self.created):
            try:
                _ip("netns", "del", name)
            except RuntimeError as exc:
                errors.append(str(exc))
        self.created.clear()
        assert not errors, errors


def require_netns() -> StarNetwork:
    """A started StarNetwork, or a loud failure saying why this machine cannot make one.

    Only with MEDIACOURIER_ALLOW_NO_NETNS=1 does a machine without the right (root /
    CAP_NET_ADMIN, iproute2) skip instead; CI runs as root and must run these tests.
    """
    network = StarNetwork()
    try:
        if os.geteuid() != 0:
            raise RuntimeError("not running as root (network namespaces need CAP_NET_ADMIN)")
        network.start()
    except (RuntimeError, OSError) as exc:
        network.delete()
        reason = f"cannot create network namespaces here: {exc}"
        if os.environ.get(ALLOW_ENV) == "1":
            pytest.skip(f"{reason} ({ALLOW_ENV}=1)")
        pytest.fail(f"{reason}. Run as root, or set {ALLOW_ENV}=1 to skip on this machine.")
    return network
