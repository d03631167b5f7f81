"""Three "machines" in network namespaces: Redis, the upload server (the inbox), the NAS (the
library's home, the rescan command, the shared queue). Real redis-server with a password, real
workers started with `mediacourier worker --host …`, the real watcher, two real beats.

The namespaces split only the network: the folders are shared, as a NAS share mounted on the
upload server would be. What is asserted is routing: which worker ran which task, and that
work for a stopped host waits in its queue and completes when the host is back.
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from shared.state import priority_lists
from shared.state.redis_server import find_redis_server
from shared.state.store import RedisStateStore
from tests.e2e.harness import Deployment, Proc, wait_for, write_toml
from tests.e2e.netns import Namespace, StarNetwork, require_netns

UPLOAD_STAGES = ("hash_file", "claim_content", "transfer_file", "verify_copy")
NAS_STAGES = ("request_rescan", "record_outcome")
REDIS_PORT = 6390  # inside the hub namespace: no other process can hold it


@dataclass
class MultiHost(Deployment):
    """A Deployment whose Redis lives in the hub namespace; the test reaches it by its socket."""

    net: StarNetwork = field(default_factory=StarNetwork)
    machines: dict[str, Namespace] = field(default_factory=dict)
    password: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def socket(self) -> Path:
        return self.root / "r.sock"

    def start_hub_redis(self) -> None:
        hub = self.machines["redis"]
        data = self.folder("redis")
        self.spawn("redis", hub.run([
            find_redis_server(), "--port", str(REDIS_PORT), "--bind", hub.address,
            "--requirepass", self.password, "--unixsocket", str(self.socket),
            "--unixsocketperm", "700", "--save", "", "--appendonly", "yes",
            "--maxmemory-policy", "noeviction", "--dir", str(data)]))
        wait_for(lambda: self._pings(), 20, "redis-server in the hub namespace")

    def _pings(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), password=self.password,
                           decode_responses=True, socket_timeout=10)

    def env(self) -> dict[str, str]:
        return {**super().env(), "COLUMNS": "250"}  # rich would wrap `status` at 80

    def store(self) -> RedisStateStore:
        return RedisStateStore(self.client(), self.prefix)

    def start_on(self, machine: str, name: str, argv: list[str], ready: str | None) -> Proc:
        proc = self.spawn(name, self.machines[machine].run(argv))
        if ready:
            wait_for(lambda: ready in proc.output() or not proc.alive(), 60, f"{name} ready")
            assert proc.alive(), proc.output()[-3000:]
        return proc

    def mediacourier(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "workers.cli", *args]

    def stop(self, proc: Proc) -> None:
        self.kill(proc, signal.SIGTERM)  # warm shutdown: unacknowledged messages go back

    def task_results(self) -> list[dict]:
        """Every finished task as the result backend recorded it (name, worker, queue)."""
        client = self.client()
        return [json.loads(client.get(key)) for key in client.scan_iter("celery-task-meta-*")]


@pytest.fixture
def hosts(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MultiHost]:
    net = require_netns()
    dep = MultiHost(tmp_path, net=net)
    try:
        dep.machines = {"redis": net.hub, "upload": net.spoke("upload"), "nas": net.spoke("nas")}
        dep.start_hub_redis()
        yield dep
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(dep.logs())
        dep.stop_all()  # by PID (process group), then the namespaces and their links
        net.delete()


def configure(dep: MultiHost) -> tuple[Path, Path, Path]:
    inbox, library = dep.folder("inbox"), dep.folder("library")
    rescans = dep.root / "rescans.log"
    url = f"redis://:{dep.password}@{dep.machines['redis'].address}:{REDIS_PORT}/0"
    write_toml(dep.config_path, {
        "data_dir": str(dep.folder("data")), "redis_url": url, "key_prefix": dep.prefix,
        "visibility_timeout": 120, "restore_interval": 5,
    }, {
        "sources.inbox": {"path": str(inbox), "library": "photos", "stability": "0.5s"},
        "libraries.photos": {"path": str(library), "rescan": ["index"]},
        # Records the namespace it runs in: proof of the machine, beside the worker's name.
        "rescan.index": {"command": f"echo \"$(ip netns identify) {{folder}}\" >> {rescans}",
                         "debounce": "0.2s"},
        "schedules.inbox": {"every": "2s"},
        "hosts.upload": {"sources": ["inbox"], "libraries": ["photos"], "shared": False},
        "hosts.nas": {"libraries": ["photos"], "rescan": ["index"]},
    })
    return inbox, library, rescans


def photos(corpus_dir: Path, count: int, skip: int = 0) -> list[Path]:
    return sorted((corpus_dir / "jpg").glob("*.jpg"))[skip:skip + count]


def drop(inbox: Path, files: list[Path]) -> None:
    for photo in files:
        (inbox / photo.name).write_bytes(photo.read_bytes())


def ingested(dep: MultiHost) -> dict[str, dict]:
    return {e["path"]: e for e in dep.events("ingested")}


def start_nas_worker(dep: MultiHost, name: str) -> Proc:
    return dep.start_on("nas", name, dep.mediacourier(
        "worker", "--host", "nas", "--concurrency", "1", "--", "--without-mingle"), "ready.")


def test_tasks_run_where_their_files_are_and_wait_for_a_stopped_host(
    hosts: MultiHost, corpus_dir: Path
) -> None:
    dep = hosts
    inbox, library, rescans = configure(dep)
    prefix = dep.prefix

    # Given a worker on each machine, started as its host, and the watcher on the upload server
    upload = dep.start_on("upload", "upload-worker", dep.mediacourier(
        "worker", "--host", "upload", "--concurrency", "1", "--", "--without-mingle"), "ready.")
    nas = start_nas_worker(dep, "nas-worker")
    assert upload.output().splitlines()[0].endswith(
        f"-Q {prefix}.upload.files,{prefix}.upload.rescan --hostname upload@%h --without-mingle")
    assert f"-Q {prefix}.nas.files,{prefix}.nas.rescan,{prefix} --hostname nas@%h" in (
        nas.output().splitlines()[0])
    dep.start_on("upload", "watcher", dep.mediacourier("watch", "--host", "upload"), "watching")

    # When three photos land in the inbox
    first = photos(corpus_dir, 3)
    drop(inbox, first)

    # Then they are ingested, byte for byte, and moved out of the inbox
    wait_for(lambda: len(ingested(dep)) == 3, 45, "three photos ingested")
    for photo in first:
        assert (library / photo.name).read_bytes() == photo.read_bytes()
        assert not (inbox / photo.name).exists()
    # … each stage on the right machine, as the journal records per stage
    for path, entry in ingested(dep).items():
        ran = json.loads(entry["hosts"])
        for stage in UPLOAD_STAGES:
            assert ran[stage].startswith("upload@"), (path, stage, ran)
        for stage in NAS_STAGES:
            assert ran[stage].startswith("nas@"), (path, stage, ran)
    # … and as the result backend records per task, with the queue each came from
    wait_for(lambda: any(r["name"] == "mediacourier.flush_rescans"
                         for r in dep.task_results()), 20, "the rescan")
    for result in dep.task_results():
        host = "nas" if result["name"].split(".")[1] in (*NAS_STAGES, "flush_rescans") \
            else "upload"
        assert result["worker"].startswith(f"{host}@"), result
        assert result["queue"] in (prefix, f"{prefix}.{host}.files", f"{prefix}.{host}.rescan")
    # … and the rescan command ran in the NAS's network namespace (a flush's result may be
    # one that found its window not yet due: the command's line comes with the next one)
    wait_for(lambda: rescans.exists() and rescans.read_text().strip(), 30,
             "the rescan command's line")
    assert rescans.read_text().split()[0] == dep.machines["nas"].name

    # When the NAS worker stops and two more photos arrive
    dep.stop(nas)
    later = photos(corpus_dir, 2, skip=3)
    drop(inbox, later)

    # Then the upload server still copies and verifies them, but their last steps wait in the
    # shared queue, which only the NAS serves: nothing is lost, nothing is recorded yet
    store = dep.store()
    wait_for(lambda: all((r := store.get_record("inbox", p.name)) and r.state == "verified"
                         for p in later), 45, "the new photos copied and verified")
    wait_for(lambda: waiting(dep.client(), prefix) >= 1, 20, "work waiting in the shared queue")
    time.sleep(1.0)
    assert len(ingested(dep)) == 3
    for photo in later:
        assert (library / photo.name).read_bytes() == photo.read_bytes()
    # … and `status` shows the host without workers and the depth of its queue
    status = dep.spawn("status", dep.machines["upload"].run(dep.mediacourier(
        "status", "--timeout", "2")))
    status.popen.wait(timeout=60)
    out = status.output()
    assert re.search(r"host nas\s+│ none online", out), out
    assert re.search(r"host upload\s+│ upload@", out), out
    depth = int(re.search(rf"queue {re.escape(prefix)}\s+│ (\d+)", out).group(1))
    assert depth >= 1, out

    # When the NAS comes back
    start_nas_worker(dep, "nas-worker-again")

    # Then the waiting work completes: all five photos recorded, the queue drained
    wait_for(lambda: len(ingested(dep)) == 5, 45, "the waiting photos recorded")
    assert set(ingested(dep)) == {p.name for p in first + later}
    wait_for(lambda: waiting(dep.client(), prefix) == 0, 20, "the shared queue drained")
    assert not any(inbox.iterdir())


def waiting(client: redis.Redis, queue: str) -> int:
    """Messages waiting in a queue, at every priority."""
    return sum(client.llen(name) for name in priority_lists(queue))


def test_two_beats_on_two_machines_schedule_once(hosts: MultiHost) -> None:
    dep = hosts
    configure(dep)
    # Given workers on both machines and a beat on each, reconciling the inbox every 2 s
    dep.start_on("upload", "upload-worker", dep.mediacourier(
        "worker", "--host", "upload", "--concurrency", "1", "--", "--without-mingle"), "ready.")
    start_nas_worker(dep, "nas-worker")
    beats = [dep.start_on(machine, f"beat-{machine}", dep.celery(
        "beat", "-l", "INFO", "-s", str(dep.root / f"beat-{machine}")), None)
        for machine in ("upload", "nas")]

    # When they have run for a while
    wait_for(lambda: len(dep.events("reconciled")) >= 3, 40, "three reconciles")

    # Then one beat sent them all, and the reconciles ran on the inbox's machine
    sent = sorted(b.output().count("Sending due task reconcile-inbox") for b in beats)
    assert sent[0] == 0 and sent[1] >= 3, sent
    reconciles = [r for r in dep.task_results() if r["name"] == "mediacourier.reconcile"]
    assert reconciles and all(r["worker"].startswith("upload@") for r in reconciles), reconciles
