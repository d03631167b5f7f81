"""Executors: where a command (a rescan, robocopy) runs. `CommandExecutor` is the Protocol;
`base` runs it here, `docker` inside a container, `ssh` on another host (host keys checked);
`children` makes a child process die with the process that started it."""

from shared.executors.base import CommandExecutor, CommandResult, LocalExecutor
from shared.executors.children import die_with_parent, popen_tied_to_process
from shared.executors.docker import ContainerRef, DockerExecutor
from shared.executors.ssh import SshEndpoint, SshExecutor

__all__ = [
    "CommandExecutor",
    "CommandResult",
    "ContainerRef",
    "DockerExecutor",
    "LocalExecutor",
    "SshEndpoint",
    "SshExecutor",
    "die_with_parent",
    "popen_tied_to_process",
]
