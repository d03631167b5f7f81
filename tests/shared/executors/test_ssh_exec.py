"""SshExecutor against a real sshd on loopback, running `docker exec` on the real test engine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.sshd import SshServer
from shared.errors import CommandTimedOut, ContainerMissing, ExecutorUnreachable, TargetRefused
from shared.executors.docker import SWARM_SERVICE_LABEL, ContainerRef
from shared.executors.ssh import SshEndpoint, SshExecutor
from tests.fixtures.dockerd import Dockerd


def endpoint(sshd: SshServer, **changes: object) -> SshEndpoint:
    values = {"host": sshd.host, "port": sshd.port, "user": sshd.user,
              "key_file": str(sshd.key_file), "known_hosts": str(sshd.known_hosts), **changes}
    return SshEndpoint(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def nas_container(dockerd: Dockerd) -> str:
    return dockerd.run(labels={SWARM_SERVICE_LABEL: "photos_nextcloud"})


def docker_cli(dockerd: Dockerd) -> tuple[str, ...]:
    return ("docker", "-H", dockerd.url)


def test_docker_exec_over_ssh_as_the_web_server_user(sshd: SshServer, dockerd: Dockerd,
                                                     nas_container: str) -> None:
    # Given a NAS reachable over SSH whose Docker runs the Nextcloud container,
    # When occ runs through the SSH executor as www-data with a path holding spaces,
    # Then it ran inside the container as www-data, with the path as one argument.
    executor = SshExecutor(endpoint(sshd), ContainerRef(name=nas_container), docker_cli(dockerd))
    result = executor.run(("php", "occ", "files:scan", "--path=/alice/files/My Photos"), 30,
                          user="www-data")
    assert result.exit_code == 0, result.stderr
    assert "Path not found: /alice/files/My Photos" in result.stdout
    assert dockerd.invocations(nas_container)[-1] == \
        ("www-data", "occ", "files:scan", "--path=/alice/files/My Photos")
    executor.close()


def test_container_found_by_service_label_over_ssh(sshd: SshServer, dockerd: Dockerd,
                                                   nas_container: str) -> None:
    executor = SshExecutor(endpoint(sshd), ContainerRef(service="photos_nextcloud"),
                           docker_cli(dockerd))
    result = executor.run(("hostname",), 30)
    assert result.stdout.strip() == dockerd.client().containers.get(nas_container).id[:12]
    missing = SshExecutor(endpoint(sshd), ContainerRef(name="no-such-nas-app"),
                          docker_cli(dockerd))
    with pytest.raises(ContainerMissing, match="no-such-nas-app"):
        missing.run(("true",), 30)
    with pytest.raises(ContainerMissing, match="no running container"):
        SshExecutor(endpoint(sshd), ContainerRef(service="nothing"), docker_cli(dockerd)).run(
            ("true",), 30)


def test_unknown_host_key_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    # Given a known_hosts file that does not name the server, Then no command runs.
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(TargetRefused, match="host key"):
        SshExecutor(endpoint(sshd, known_hosts=str(empty))).run(("true",), 10)
    stranger = sshd.make_key("stranger")
    with pytest.raises(TargetRefused):
        SshExecutor(endpoint(sshd, key_file=str(stranger))).run(("true",), 10)


def test_timeout_and_unreachable_host(sshd: SshServer) -> None:
    executor = SshExecutor(endpoint(sshd))
    started = time.monotonic()
    with pytest.raises(CommandTimedOut, match="timed out after 0.5 s"):
        executor.run(("sleep", "5"), 0.5)
    assert time.monotonic() - started < 4
    assert executor.run(("echo", "still usable"), 10).stdout == "still usable\n"
    sshd.stop()
    with pytest.raises(ExecutorUnreachable, match=str(sshd.port)):
        SshExecutor(endpoint(sshd), connect_timeout=2).run(("true",), 5)


def test_nextcloud_target_over_ssh_scans_then_indexes(sshd: SshServer, dockerd: Dockerd,
                                                      nas_container: str) -> None:
    # Given a nextcloud target whose executor is `ssh` to a [targets.nas] (the session sshd)
    # When one folder is scanned through the executor built from the configuration
    # Then occ ran in the NAS's container as www-data: files:scan, then memories:index
    from types import SimpleNamespace

    from shared.config import RescanTarget
    from shared.config.rescan import AppConfig, ExecutorConfig
    from shared.rescan.apps import scan_folder
    from shared.rescan.executors import make_executor

    nas = SimpleNamespace(host=sshd.host, port=sshd.port, user=sshd.user,
                          key_file=sshd.key_file, known_hosts=sshd.known_hosts)
    target = RescanTarget(
        name="nc", command=(), timeout_seconds=30, kind="nextcloud",
        executor=ExecutorConfig(kind="ssh", ssh_target="nas", container=nas_container,
                                docker_command=docker_cli(dockerd), user="www-data"),
        app=AppConfig(nextcloud_user="alice", memories=True))
    executor = make_executor(SimpleNamespace(targets={"nas": nas}), target)  # type: ignore[arg-type]
    before = len(dockerd.invocations(nas_container))
    dockerd.exec(nas_container, "mkdir", "-p", "/var/www/html/data/alice/files/Phone Uploads")
    outcome = scan_folder(target, executor, "/lib/Phone Uploads", "/lib")
    assert outcome.ok, outcome.message
    assert dockerd.invocations(nas_container)[before:] == [
        ("www-data", "occ", "files:scan", "-n", "--path=/alice/files/Phone Uploads"),
        ("www-data", "occ", "memories:index", "-n", "-u", "alice", "--folder", "/Phone Uploads"),
    ]
