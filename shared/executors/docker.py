"""Run commands inside a container through the Docker engine API (the docker SDK).

The container is found by name, by label (`com.docker.compose.service=app`) or, in Swarm mode,
as this node's running task of a service (label `com.docker.swarm.service.name`): a Swarm
service's containers carry that label, and the engine lists only this node's containers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from shared.errors import CommandTimedOut, ContainerMissing, ExecutorUnreachable
from shared.executors.base import CommandResult

SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"


@dataclass(frozen=True)
class ContainerRef:
    """How to find the container: exactly one of the three is set."""

    name: str = ""
    label: str = ""  # "key=value" or just "key"
    service: str = ""

    def describe(self) -> str:
        if self.name:
            return f"container {self.name!r}"
        if self.label:
            return f"the container labelled {self.label!r}"
        return f"this node's task of service {self.service!r}"

    def label_filter(self) -> str:
        return self.label or f"{SWARM_SERVICE_LABEL}={self.service}"


class DockerExecutor:
    """Runs argv with `docker exec` semantics: no TTY, stdout and stderr apart, as `user`."""

    def __init__(self, container: ContainerRef, docker_url: str = "",
                 connect_timeout: float = 10) -> None:
        self.container = container
        self.docker_url = docker_url or os.environ.get("DOCKER_HOST", "") or \
            "unix:///var/run/docker.sock"
        self.connect_timeout = connect_timeout
        self._client: Any = None

    def describe(self) -> str:
        return f"{self.container.describe()} on {self.docker_url}"

    def client(self) -> Any:
        import docker

        if self._client is None:
            try:
                self._client = docker.DockerClient(base_url=self.docker_url,
                                                   timeout=self.connect_timeout)
            except docker.errors.DockerException as exc:
                raise ExecutorUnreachable(f"docker at {self.docker_url}: {exc}") from None
        return self._client

    def find_container(self) -> Any:
        """The running container, or ContainerMissing naming what was looked for."""
        import docker
        import requests

        client = self.client()
        try:
            if self.container.name:
                found = client.containers.get(self.container.name)
                if found.status != "running":
                    raise ContainerMissing(f"{self.describe()} is {found.status}, not running")
                return found
            matches = client.containers.list(
                filters={"label": self.container.label_filter(), "status": "running"})
        except docker.errors.NotFound:
            raise ContainerMissing(f"{self.describe()}: no such container") from None
        except (docker.errors.APIError, requests.RequestException) as exc:
            raise ExecutorUnreachable(f"docker at {self.docker_url}: {exc}") from None
        if not matches:
            raise ContainerMissing(f"{self.describe()}: no running container matches")
        # Several replicas: any one will do, but always the same one.
        return sorted(matches, key=lambda c: c.name)[0]

    def run(self, argv: tuple[str, ...], timeout: float, user: str = "") -> CommandResult:
        import docker
        import requests

        started = time.perf_counter()
        container = self.find_container()
        api = self.client().api
        try:
            exec_id = api.exec_create(container.id, list(argv), stdout=True, stderr=True,
                                      stdin=False, tty=False, user=user)["Id"]
        except docker.errors.NotFound:
            raise ContainerMissing(f"{self.describe()}: vanished before the command ran") \
                from None
        except (docker.errors.APIError, requests.RequestException) as exc:
            raise ExecutorUnreachable(f"docker at {self.docker_url}: {exc}") from None
        outcome: dict[str, Any] = {}

        def start() -> None:
            try:
                outcome["output"] = api.exec_start(exec_id, demux=True)
            except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
                outcome["error"] = exc

        # exec_start blocks until the command ends and has no timeout of its own.
        worker = threading.Thread(target=start, daemon=True, name="docker-exec")
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            self._kill(exec_id)
            raise CommandTimedOut(f"{' '.join(argv[:3])}… in {self.describe()} "
                                  f"timed out after {timeout:g} s")
        if "error" in outcome:
            raise ExecutorUnreachable(f"docker at {self.docker_url}: {outcome['error']}")
        stdout, stderr = outcome["output"]
        code = api.exec_inspect(exec_id).get("ExitCode")
        err = (stderr or b"").decode(errors="replace")
        if code == 126 and not stdout and not err:
            # The engine's own reason (e.g. "unable to find user") reaches the stream only
            # sometimes; the exit code alone must still say what went wrong.
            err = (f"{self.describe()}: could not start {argv[0]!r} as user "
                   f"{user or '(default)'!r}: unknown user or command not executable")
        return CommandResult(argv, -1 if code is None else int(code),
                             (stdout or b"").decode(errors="replace"), err,
                             time.perf_counter() - started)

    def _kill(self, exec_id: str) -> None:
        """End a timed-out command: the engine has no API for it, but on a local engine its
        host PID can be signalled. On a remote engine it runs on; the scan lock's TTL covers it.
        """
        if not self.docker_url.startswith("unix://"):
            return
        with contextlib.suppress(Exception):
            pid = int(self.client().api.exec_inspect(exec_id).get("Pid") or 0)
            if pid > 1:
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
