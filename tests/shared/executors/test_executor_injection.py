"""`docker exec` over SSH ends its options before the container name: a name that looks like
an option is a name. Checked on the argv, and with the real docker CLI when it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from shared.executors import ContainerRef, SshEndpoint, SshExecutor


def test_the_container_name_can_never_be_an_option_of_docker_exec(tmp_path: Path) -> None:
    # Given an SSH executor for a container whose name starts with '--'
    executor = SshExecutor(SshEndpoint("nas.lan"), ContainerRef(name="--mc-not-a-flag"))
    # When the remote command line is built (no connection needed for a named container)
    argv = executor.remote_argv(("php", "occ", "files:scan"), "www-data", 5.0)
    # Then `--` ends docker's options right before the name
    assert argv == ("docker", "exec", "-u", "www-data", "--", "--mc-not-a-flag",
                    "php", "occ", "files:scan")
    docker = shutil.which("docker")
    if docker is None:
        return
    # … and the real docker CLI parses it as a container name: it goes on to the (absent)
    # engine instead of stopping at an unknown flag
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
           "DOCKER_CONFIG": str(tmp_path)}
    done = subprocess.run([docker, *argv[1:]], capture_output=True, text=True, env=env,
                          timeout=30, check=False)
    assert done.returncode != 0
    assert "unknown flag" not in done.stderr
    assert "no-engine.sock" in done.stderr, done.stderr
