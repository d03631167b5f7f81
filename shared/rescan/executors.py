"""The executor a rescan target's commands run through, built from its configuration."""

from __future__ import annotations

from shared.config import RescanTarget, Settings
from shared.errors import ConfigError
from shared.executors import (
    CommandExecutor,
    ContainerRef,
    DockerExecutor,
    LocalExecutor,
    SshEndpoint,
    SshExecutor,
)


def container_ref(target: RescanTarget) -> ContainerRef | None:
    ex = target.executor
    if not ex.in_container:
        return None
    return ContainerRef(name=ex.container, label=ex.container_label, service=ex.service)


def make_executor(settings: Settings, target: RescanTarget) -> CommandExecutor:
    ex = target.executor
    ref = container_ref(target)
    if ex.kind == "docker" and ref is not None:
        return DockerExecutor(ref, ex.docker_url)
    if ex.kind == "ssh":
        return SshExecutor(ssh_endpoint(settings, target), ref, ex.docker_command)
    return LocalExecutor()


def ssh_endpoint(settings: Settings, target: RescanTarget) -> SshEndpoint:
    """The login of the `[targets.X]` named by `ssh_target` (the NAS the container runs on)."""
    hosts = settings.targets
    host = hosts.get(target.executor.ssh_target)
    if host is None:
        raise ConfigError(f"rescan.{target.name}.ssh_target: no target named "
                          f"{target.executor.ssh_target!r} in [targets]")
    return SshEndpoint(host=host.host, port=int(getattr(host, "port", 22)),
                       user=getattr(host, "user", "") or "",
                       key_file=str(getattr(host, "key_file", "") or ""),
                       known_hosts=str(getattr(host, "known_hosts", "") or ""))
