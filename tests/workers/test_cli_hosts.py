"""`mediacourier queues` and `mediacourier worker --host`: the queue names users see and use."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from shared.config import build_settings
from tests.e2e.harness import write_toml
from tests.shared.config.test_config_hosts import two_host_config
from tests.workers.cli_helpers import clean_env, cli
from workers.hosts import worker_argv


@pytest.fixture
def config(tmp_path: Path) -> Path:
    raw = two_host_config(tmp_path)
    tables = {f"{kind}.{name}": values for kind in ("sources", "libraries", "rescan", "hosts")
              for name, values in raw[kind].items()}
    path = tmp_path / "mediacourier.toml"
    write_toml(path, {"key_prefix": "mc", "redis_url": "redis://127.0.0.1:1/0",
                      "data_dir": str(tmp_path / "data")}, tables)
    return path


def test_worker_line_consumes_exactly_the_hosts_queues(tmp_path: Path) -> None:
    settings = build_settings(two_host_config(tmp_path), tmp_path / "m.toml", tmp_path)
    argv = worker_argv(settings, "nas", None, 3, None)
    assert argv[:3] == [sys.executable, "-m", "celery"]
    assert argv[3:] == ["-A", "tasks", "worker", "-l", "INFO", "-E", "-c", "3",
                        "-Q", "mc.nas.files,mc.nas.rescan,mc", "--hostname", "nas@%h"]
    # A pool for one role of a host gets a node name of its own
    argv = worker_argv(settings, "nas", ["rescan"], 1, None)
    assert argv[-3:] == ["mc.nas.rescan", "--hostname", "nas-rescan@%h"]


def test_queues_prints_names_routing_and_worker_lines(config: Path) -> None:
    done = cli(clean_env(MEDIACOURIER_CONFIG=str(config)), "queues")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("mc.upload.files" in line and "source inbox" in line for line in lines)
    assert any("mc.nas.rescan" in line and "rescan app" in line for line in lines)
    assert any(line.startswith("host upload: mediacourier worker --host upload  =  celery -A "
                               "tasks worker") and "-Q mc.upload.files,mc.upload.rescan "
               in line for line in lines), done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["worker", "--host", "pc"], "host: no [hosts.pc] table (hosts: upload, nas)"),
    (["worker"], "say which this worker is with --host (upload, nas)"),
])
def test_worker_with_a_wrong_or_missing_host_is_a_one_line_error(
    config: Path, args: list[str], message: str
) -> None:
    done = cli(clean_env(MEDIACOURIER_CONFIG=str(config)), *args)
    assert done.returncode == 2
    assert done.stderr.startswith("mediacourier: ") and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "celery" not in done.stdout


def test_doctor_on_a_named_host_checks_only_its_own_folders(config: Path) -> None:
    # Given the NAS's scans folder, which the upload server does not have
    (config.parent / "scans").rmdir()
    env = clean_env(MEDIACOURIER_CONFIG=str(config))
    # When doctor runs as the upload server
    done = cli(env, "doctor", "--host", "upload")
    # Then it checks the inbox and the library, not the NAS's folder or rescan command
    names = [line.split(":")[0] for line in done.stdout.splitlines()]
    assert any(n.endswith("source inbox") for n in names), done.stdout
    assert any(n.endswith("library lib") for n in names), done.stdout
    assert not any("scans" in n or "rescan app" in n for n in names), done.stdout
    # … while as no host in particular the configuration itself is refused for the missing folder
    done = cli(env, "doctor")
    assert done.returncode == 2 and "[sources.scans] path" in done.stderr, done.stderr


class _Inspect:
    def __init__(self, answers: dict) -> None:
        self.answers = answers

    def active_queues(self) -> dict:
        return self.answers


class _App:
    """Only what status asks Celery: the active queues of the workers that answered."""

    def __init__(self, answers: dict) -> None:
        self.control = self
        self.answers = answers

    def inspect(self, timeout: float) -> _Inspect:
        return _Inspect(self.answers)


def test_status_groups_workers_by_host_and_lists_unhealthy_targets(
    tmp_path: Path, fake_redis
) -> None:
    from rich.console import Console

    from shared.state.store import RedisStateStore
    from workers.hosts import print_host_status

    class StoreWithHealth(RedisStateStore):
        def target_health(self) -> dict:
            return {"nas": (False, "connection refused", 0.0), "cloud": (True, "", 0.0)}

    # Given one worker of the NAS, none of the upload server, and work waiting in two lists
    settings = build_settings(two_host_config(tmp_path), tmp_path / "m.toml", tmp_path)
    fake_redis.rpush("mc.upload.files", "m1", "m2")
    fake_redis.rpush("mc.upload.files\x06\x163", "m3")  # a priority sub-list
    answers = {"nas@box": [{"name": "mc.nas.files"}, {"name": "mc"}]}
    console = Console(record=True, width=200)
    # When status is printed
    print_host_status(console, _App(answers), settings, StoreWithHealth(fake_redis, "mc"), 1.0)
    out = console.export_text()
    # Then hosts, queue depths (with the priority list) and the unhealthy target are shown
    assert re.search(r"host nas\s+│ nas@box", out) and \
        re.search(r"host upload\s+│ none online", out), out
    assert re.search(r"queue mc\.upload\.files\s+│ 3 ", out), out
    assert re.search(r"queue mc\.nas\.files\s+│ 0 ", out), out
    assert re.search(r"target nas\s+│ unreachable since [0-9:]+: connection refused", out), out
    assert re.search(r"target cloud\s+│ ok ", out), out


def test_a_hosts_watcher_watches_the_sources_routed_to_it(tmp_path: Path) -> None:
    from shared.config import load_settings
    from workers.hosts import watched_settings

    raw = two_host_config(tmp_path)
    raw["hosts"]["nas"]["sources"] = ["scans", "inbox"]  # upload comes first for the inbox
    tables = {f"{kind}.{name}": values for kind in ("sources", "libraries", "rescan", "hosts")
              for name, values in raw[kind].items()}
    path = tmp_path / "mediacourier.toml"
    write_toml(path, {"key_prefix": "mc"}, tables)
    for host, watched in (("upload", ["inbox"]), ("nas", ["scans"])):
        settings = load_settings(str(path), env={"MEDIACOURIER_HOST": host}, cwd=tmp_path)
        assert list(watched_settings(settings).sources) == watched, host
    settings = load_settings(str(path), env={}, cwd=tmp_path)
    assert list(watched_settings(settings).sources) == ["inbox", "scans"]
