"""The `mediacourier` command line as a user runs it: a subprocess against a real redis-server.

`sync` and `history` on real photos are in test_cli_sync.py.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.e2e.harness import Deployment, write_toml
from tests.workers.cli_helpers import clean_env, cli, configure


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- configuration errors ------------------------------------------------------------------

@pytest.mark.parametrize("table, key, value, expected", [
    ("", "redis_ulr", "redis://x", "{config}: redis_ulr: unknown key"),
    ("sources.inbox", "stabilty", "5s", "{config}: [sources.inbox] stabilty: unknown key"),
    ("sources.inbox", "path", "card", "folder '{tmp}/card' does not exist"),
])
def test_a_bad_config_is_refused_naming_key_and_file(
    tmp_path: Path, table: str, key: str, value: str, expected: str
) -> None:
    # Given a config with a misspelt key, or a source folder (a card) that is not there
    for name in ("inbox", "library"):
        (tmp_path / name).mkdir()
    tables = {"sources.inbox": {"path": "inbox", "library": "library"},
              "libraries.library": {"path": "library"}}
    top = {"data_dir": str(tmp_path / "data")}
    (tables[table] if table else top)[key] = value
    config = tmp_path / "mediacourier.toml"
    write_toml(config, top, tables)

    # When sync loads it
    done = cli(clean_env(), "--config", str(config), "sync", "inbox")

    # Then it exits 2 with one line naming the key and the file, or the folder
    assert done.returncode == 2, done.stderr
    assert expected.format(config=config, tmp=tmp_path) in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("how", ["--config", "MEDIACOURIER_CONFIG"])
def test_a_missing_config_file_is_refused(tmp_path: Path, how: str) -> None:
    # Given a config path that does not exist
    missing = tmp_path / "nope.toml"
    env = clean_env(MEDIACOURIER_CONFIG=str(missing)) if how != "--config" else clean_env()
    args = ["--config", str(missing)] if how == "--config" else []

    # When doctor runs with it
    done = cli(env, *args, "doctor")

    # Then it exits 2 naming the file, instead of falling back to the default configuration
    assert done.returncode == 2, done.stderr
    assert f"'{missing}' does not exist" in done.stderr and done.stdout == ""


# -- doctor --------------------------------------------------------------------------------

def doctor_lines(stdout: str) -> dict[str, tuple[str, str]]:
    lines = [re.fullmatch(r"(ok|FAIL)\s+(.+?): (.*)", line) for line in stdout.splitlines()]
    assert all(lines), stdout
    return {m.group(2): (m.group(1), m.group(3)) for m in lines}  # type: ignore[union-attr]


def test_doctor_all_ok(dep: Deployment) -> None:
    # Given a move source, a library and a rescan target whose program exists
    configure(dep, mode="move", **{"rescan.index": {"command": ["true", "{folder}"]}})

    # When doctor runs
    done = cli(dep.env(), "doctor")

    # Then every check has one ok line, in order, and it exits 0
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(done.stdout.splitlines()) == 7
    assert [(name, v) for name, (v, _) in doctor_lines(done.stdout).items()] == [
        ("config", "ok"), ("redis", "ok"), ("source inbox", "ok"), ("source inbox (move)", "ok"),
        ("library library", "ok"), ("metadata", "ok"), ("rescan index", "ok")]


@pytest.mark.parametrize("broken", ["rescan program", "redis"])
def test_doctor_fails_one_check_and_runs_the_others(dep: Deployment, broken: str) -> None:
    # Given a rescan target whose program is not installed, or Redis on a closed port
    port = closed_port()
    if broken == "redis":
        dep.top = {"redis_url": f"redis://127.0.0.1:{port}/0"}
    configure(dep, **{"rescan.thumbs": {"command": [
        "true" if broken == "redis" else "/nonexistent/make-thumbs", "{folder}"]}})

    # When doctor runs
    done = cli(dep.env(), "doctor")

    # Then that check alone fails, naming the program or the port, and it exits 1
    assert done.returncode == 1, done.stdout + done.stderr
    lines = doctor_lines(done.stdout)
    failing = "redis" if broken == "redis" else "rescan thumbs"
    assert [name for name, (v, _) in lines.items() if v == "FAIL"] == [failing]
    assert (str(port) if broken == "redis" else "/nonexistent/make-thumbs") in lines[failing][1]


# -- errors a user can cause ---------------------------------------------------------------

@pytest.mark.parametrize("args", [["sync", "inbox"], ["history"], ["status"]])
def test_unreachable_redis_is_a_one_line_error(dep: Deployment, args: list[str]) -> None:
    # Given a redis_url pointing at a closed port
    port = closed_port()
    dep.top = {"redis_url": f"redis://127.0.0.1:{port}/0"}
    configure(dep)

    # When a command that needs Redis runs
    done = cli(dep.env(), *args)

    # Then it fails with one line naming the address, like every other error, not a traceback,
    # with the exit code of a connection error (4), not of a configuration error (2)
    assert done.returncode == 4, done.stderr[-3000:]
    assert done.stderr.startswith("mediacourier: ") and str(port) in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["sync", "inbox", "--workers", "0"],
                                  ["history", "--limit", "0"]])
def test_a_count_below_one_is_a_usage_error(dep: Deployment, args: list[str]) -> None:
    # Given a working set-up; When a worker count or history limit of 0 is given
    configure(dep)
    done = cli(dep.env(), *args)

    # Then it is refused as a usage error (exit 2), not a traceback
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
