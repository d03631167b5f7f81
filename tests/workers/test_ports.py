"""Finding out whether a port is free and who holds it (workers/ports.py), against real sockets
and this machine's /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import wait_for
from workers.ports import busy_port_line, describe_holder, free_port, holder_of, port_is_free


def test_a_listening_port_is_taken_and_its_holder_named() -> None:
    # Given a port this process listens on
    port = free_port("127.0.0.1")
    with socket.create_server(("127.0.0.1", port)):
        # Then it is not free, this process holds it, and the line says so and what to do
        assert not port_is_free("127.0.0.1", port)
        assert holder_of(port) == os.getpid()
        line = busy_port_line(port, "metrics_listen")
        assert line.startswith(f"port {port} is in use (pid {os.getpid()}: ")
        assert line.endswith(" — set metrics_listen or stop it")
    # When it is closed, Then it is free again
    assert port_is_free("127.0.0.1", port)
    assert holder_of(port) is None


def test_a_port_held_by_a_mediacourier_command_says_so(tmp_path: Path) -> None:
    # Given a process started as `python -m workers.cli …` that listens on a port
    port = free_port("127.0.0.1")
    script = (f"import socket, time; s = socket.create_server(('127.0.0.1', {port})); "
              "print('ok', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script, "-m", "workers.cli", "metrics"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ok\n"
        wait_for(lambda: holder_of(port) == holder.pid, 10, "the holder to show in /proc")
        # Then it is named as an earlier mediacourier
        assert describe_holder(holder.pid) == f"pid {holder.pid}: an earlier mediacourier?"
        assert f"(pid {holder.pid}: an earlier mediacourier?)" in busy_port_line(port, "x")
    finally:
        holder.kill()
        holder.wait()


def test_a_process_that_cannot_be_read_is_named_by_its_pid(tmp_path: Path) -> None:
    # Given a /proc without that process
    # Then only its pid is given
    assert describe_holder(4242, proc=tmp_path) == "pid 4242"
