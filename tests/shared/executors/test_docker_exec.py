"""DockerExecutor against a real Docker engine (the session `dockerd` fixture)."""

from __future__ import annotations

import time

import pytest

from shared.errors import CommandTimedOut, ContainerMissing, ExecutorUnreachable
from shared.executors.docker import SWARM_SERVICE_LABEL, ContainerRef, DockerExecutor
from tests.fixtures.dockerd import Dockerd


@pytest.fixture(scope="module")
def container(dockerd: Dockerd) -> str:
    return dockerd.run(labels={"com.docker.compose.service": "app-under-test"})


def test_by_name_runs_the_command_in_the_container(dockerd: Dockerd, container: str) -> None:
    # Given a running container, When a command runs in it by name,
    # Then stdout and stderr come back apart with the exit code.
    executor = DockerExecutor(ContainerRef(name=container), dockerd.url)
    result = executor.run(("sh", "-c", "echo out; echo err >&2; hostname; exit 3"), timeout=20)
    assert result.exit_code == 3 and not result.ok
    assert result.stdout.splitlines()[0] == "out"
    assert result.stderr == "err\n"


def test_runs_as_the_requested_user(dockerd: Dockerd, container: str) -> None:
    executor = DockerExecutor(ContainerRef(name=container), dockerd.url)
    assert executor.run(("id", "-un"), timeout=20, user="www-data").stdout.strip() == "www-data"
    assert executor.run(("id", "-u"), timeout=20, user="photoprism").stdout.strip() == "1000"
    assert executor.run(("id", "-un"), timeout=20).stdout.strip() == "root"
    # A user the container does not know: the engine refuses, the command never runs.
    refused = executor.run(("id", "-un"), timeout=20, user="nobody-here")
    assert refused.exit_code == 126 and "nobody-here" in refused.stdout + refused.stderr


def test_by_label_and_by_swarm_service(dockerd: Dockerd, container: str) -> None:
    # Given a container labelled like a compose service, and one like a Swarm task,
    # When each is looked up by label, Then the command runs in that container.
    task = dockerd.run(labels={SWARM_SERVICE_LABEL: "nc_app"})
    by_label = DockerExecutor(ContainerRef(label="com.docker.compose.service=app-under-test"),
                              dockerd.url)
    by_service = DockerExecutor(ContainerRef(service="nc_app"), dockerd.url)
    assert by_label.run(("hostname",), 20).stdout.strip() == \
        dockerd.client().containers.get(container).id[:12]
    assert by_service.run(("hostname",), 20).stdout.strip() == \
        dockerd.client().containers.get(task).id[:12]


def test_missing_or_stopped_container_is_container_missing(dockerd: Dockerd) -> None:
    with pytest.raises(ContainerMissing, match="no-such-container-x"):
        DockerExecutor(ContainerRef(name="no-such-container-x"), dockerd.url).run(("true",), 5)
    with pytest.raises(ContainerMissing, match="no running container"):
        DockerExecutor(ContainerRef(service="no-such-service"), dockerd.url).run(("true",), 5)
    stopped = dockerd.run()
    dockerd.client().containers.get(stopped).kill()
    with pytest.raises(ContainerMissing, match="not running"):
        DockerExecutor(ContainerRef(name=stopped), dockerd.url).run(("true",), 5)


def test_timeout_raises_and_ends_the_command(dockerd: Dockerd, container: str) -> None:
    executor = DockerExecutor(ContainerRef(name=container), dockerd.url)
    started = time.monotonic()
    with pytest.raises(CommandTimedOut, match="timed out after 0.5 s"):
        executor.run(("sleep", "7"), timeout=0.5)
    assert time.monotonic() - started < 5
    # The engine's PID was signalled: no `sleep 7` is left in the container.
    processes = executor.run(("ps", "-o", "args"), timeout=20).stdout
    assert "sleep 7" not in processes


def test_unreachable_engine(tmp_path) -> None:  # noqa: ANN001
    executor = DockerExecutor(ContainerRef(name="x"), f"unix://{tmp_path}/none.sock",
                              connect_timeout=2)
    with pytest.raises(ExecutorUnreachable, match="none.sock"):
        executor.run(("true",), 5)
