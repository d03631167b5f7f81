"""TODO"""

from shared.executors.base import CommandExecutor, CommandResult, LocalExecutor
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
]
