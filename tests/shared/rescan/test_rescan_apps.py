"""App rescan targets against the stand-in commands in a real container (the `dockerd`
fixture): Nextcloud's files:scan and Memories, PhotoPrism's CLI, and their exit-0 failures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis

from shared.config import RescanTarget
from shared.config.rescan import AppConfig, ExecutorConfig
from shared.errors import CommandFailed, ContainerMissing, RescanRefused
from shared.executors.docker import ContainerRef, DockerExecutor
from shared.rescan.apps import nextcloud_commands, scan_folder
from shared.rescan.flush import flush_rescans
from shared.rescan.output import OK, PERMANENT, RETRY, summary_table
from shared.state import DEFAULT_LEASE_SECONDS
from shared.state.store import RedisStateStore
from tests.fixtures.dockerd import Dockerd

NC_FILES = "/var/www/html/data/alice/files/Photos"
ORIGINALS = "/photoprism/originals/Library"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library with two folders of files, mounted into the apps' container."""
    root = tmp_path_factory.mktemp("library")
    root.chmod(0o755)  # the apps' users (www-data, photoprism) read it
    for folder, names in {"2024/07 Summer trip": ["a.jpg", "b.jpg"], "2024/08": ["c.jpg"]}.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            (root / folder / name).write_bytes(b"jpeg")
    return root


@pytest.fixture(scope="module")
def apps(dockerd: Dockerd, library: Path) -> str:
    return dockerd.run(mounts=[(str(library), NC_FILES), (str(library), ORIGINALS)])


@pytest.fixture
def store(redis_client: redis.Redis, key_prefix: str) -> RedisStateStore:
    return RedisStateStore(redis_client, key_prefix)


def nextcloud(container: str, memories: bool = True, user: str = "alice") -> RescanTarget:
    return RescanTarget(name="nc", command=(), debounce_seconds=0.1, timeout_seconds=20,
                        kind="nextcloud",
                        executor=ExecutorConfig(kind="docker", container=container,
                                                user="www-data"),
                        app=AppConfig(nextcloud_user=user, files_prefix="Photos",
                                      memories=memories))


def photoprism(container: str) -> RescanTarget:
    return RescanTarget(name="pp", command=(), timeout_seconds=20, kind="photoprism",
                        executor=ExecutorConfig(kind="docker", container=container,
                                                user="photoprism"),
                        app=AppConfig(files_prefix="Library"))


def executor(dockerd: Dockerd, container: str) -> DockerExecutor:
    return DockerExecutor(ContainerRef(name=container), dockerd.url)


def test_nextcloud_paths_are_one_argument_each() -> None:
    target = nextcloud("x")
    scan, memories = nextcloud_commands(target, "2024/07 Summer trip")
    assert scan == ("php", "occ", "files:scan", "-n",
                    "--path=/alice/files/Photos/2024/07 Summer trip")
    assert memories == ("php", "occ", "memories:index", "-n", "-u", "alice", "--folder",
                        "/Photos/2024/07 Summer trip")
    assert nextcloud_commands(replace(target, app=AppConfig(nextcloud_user="bob")), "")[0][-1] \
        == "--path=/bob/files"


def test_files_scan_counts_and_memories_after_it(dockerd: Dockerd, apps: str,
                                                 library: Path) -> None:
    # Given new files in a library folder mounted as alice's Photos,
    # When the Nextcloud target scans that folder,
    # Then files:scan ran as www-data for exactly that path, its table was read,
    # and memories:index ran afterwards for the same folder.
    before = len(dockerd.invocations(apps))
    outcome = scan_folder(nextcloud(apps), executor(dockerd, apps),
                          f"{library}/2024/07 Summer trip", str(library))
    assert outcome.status == OK, outcome.message
    assert outcome.counts["files"] == 2 and outcome.counts["errors"] == 0
    calls = dockerd.invocations(apps)[before:]
    assert calls == [
        ("www-data", "occ", "files:scan", "-n", "--path=/alice/files/Photos/2024/07 Summer trip"),
        ("www-data", "occ", "memories:index", "-n", "-u", "alice", "--folder",
         "/Photos/2024/07 Summer trip"),
    ]


@pytest.mark.parametrize(("failure", "status", "message"), [
    ("locked", RETRY, "Another process is already scanning '/alice/files/Photos/2024/08'"),
    ("unknown-user", PERMANENT, "Unknown user 1 bob"),
    ("missing-path", PERMANENT, "Path not found: /alice/files/Photos/2024/09"),
])
def test_files_scan_failures_that_exit_zero(dockerd: Dockerd, apps: str, library: Path,
                                            failure: str, status: str, message: str) -> None:
    # Given occ prints a failure but exits 0, Then the outcome says retry or permanent,
    # and Memories is not run after a files:scan that failed.
    target, folder = nextcloud(apps), f"{library}/2024/08"
    if failure == "locked":
        dockerd.inject(apps, "files-scan-locked")
    elif failure == "unknown-user":
        target = nextcloud(apps, user="bob")
    else:
        folder = f"{library}/2024/09"
    before = len(dockerd.invocations(apps))
    outcome = scan_folder(target, executor(dockerd, apps), folder, str(library))
    assert (outcome.status, outcome.message) == (status, message)
    assert [call[2] for call in dockerd.invocations(apps)[before:]] == ["files:scan"]


def test_memories_unknown_user_is_permanent(dockerd: Dockerd, apps: str) -> None:
    result = executor(dockerd, apps).run(
        ("php", "occ", "memories:index", "-u", "mallory", "--folder", "/Photos"), 20,
        user="www-data")
    assert result.exit_code == 0
    from shared.rescan.output import memories_outcome

    assert memories_outcome(result).status == PERMANENT


def test_old_nextcloud_table_without_error_column() -> None:
    old = ("+---------+-------+--------------+\n| Folders | Files | Elapsed time |\n"
           "+---------+-------+--------------+\n| 3       | 12    | 00:00:01     |\n"
           "+---------+-------+--------------+\n")
    assert summary_table(old) == {"folders": 3, "files": 12}


def test_photoprism_cli_index_of_the_subfolder(dockerd: Dockerd, apps: str, library: Path) -> None:
    # Given PhotoPrism's originals hold the library under Library/,
    # When the target indexes one folder, Then `photoprism index Library/<rel>` ran as the
    # container's user and the count of indexed files was read from its log.
    target, run = photoprism(apps), executor(dockerd, apps)
    before = len(dockerd.invocations(apps))
    outcome = scan_folder(target, run, f"{library}/2024/07 Summer trip", str(library))
    assert outcome.status == OK and outcome.counts == {"indexed": 2}
    assert dockerd.invocations(apps)[before:] == [
        ("photoprism", "photoprism", "index", "--", "Library/2024/07 Summer trip")]
    dockerd.inject(apps, "photoprism-busy")
    assert scan_folder(target, run, f"{library}/2024/08", str(library)).status == RETRY
    dockerd.inject(apps, "photoprism-file-error")
    failed = scan_folder(target, run, f"{library}/2024/08", str(library))
    assert failed.status == RETRY and "broken.jpg" in failed.message
    missing = scan_folder(target, run, f"{library}/gone", str(library))
    assert missing.status == PERMANENT and "does not exist" in missing.message


def test_flush_retries_a_locked_scan_then_succeeds(dockerd: Dockerd, apps: str, library: Path,
                                                    store: RedisStateStore) -> None:
    # Given two dirty folders and a files:scan that is "already scanning" once,
    # When the target flushes, Then that folder stays dirty and CommandFailed asks for a retry;
    # the next flush scans only that folder and clears it.
    target, run = nextcloud(apps), executor(dockerd, apps)
    for folder in ("2024/07 Summer trip", "2024/08"):
        store.mark_dirty("nc", f"{library}/{folder}", 0.1)
    dockerd.inject(apps, "files-scan-locked")
    before = len(dockerd.invocations(apps))
    with pytest.raises(CommandFailed, match="2024/07 Summer trip"):
        flush_rescans(target, store, run, [str(library)])
    assert list(store.dirty_folders("nc")) == [f"{library}/2024/07 Summer trip"]
    report = flush_rescans(target, store, run, [str(library)])
    assert report.folders == (f"{library}/2024/07 Summer trip",) and not report.failed
    assert store.dirty_folders("nc") == {}
    scans = [c[-1] for c in dockerd.invocations(apps)[before:] if c[2] == "files:scan"]
    assert scans == ["--path=/alice/files/Photos/2024/07 Summer trip",
                     "--path=/alice/files/Photos/2024/08",
                     "--path=/alice/files/Photos/2024/07 Summer trip"]
    journal = store.read_journal()
    assert journal[-1]["event"] == "rescanned" and "files=2" in journal[-1]["counts"]
    failed = [e for e in journal if e["event"] == "rescan-failed"]
    assert failed[0]["permanent"] == "0" and "already scanning" in failed[0]["reason"]


def test_flush_reports_a_refused_scan_and_clears_it(dockerd: Dockerd, apps: str,
                                                    library: Path, store: RedisStateStore) -> None:
    target = nextcloud(apps, user="bob")
    store.mark_dirty("nc", f"{library}/2024/08", 0.1)
    # The task fails with the app's own reason, not with "see the journal"
    with pytest.raises(RescanRefused, match="refused for .*/2024/08: Unknown user 1 bob$"):
        flush_rescans(target, store, executor(dockerd, apps), [str(library)])
    assert store.dirty_folders("nc") == {}
    failed = [e for e in store.read_journal() if e["event"] == "rescan-failed"]
    assert failed[-1]["permanent"] == "1" and failed[-1]["reason"] == "Unknown user 1 bob"


def test_missing_container_keeps_every_folder_dirty(dockerd: Dockerd, library: Path,
                                                    store: RedisStateStore) -> None:
    store.mark_dirty("nc", f"{library}/2024/08", 0.1)
    with pytest.raises(ContainerMissing):
        flush_rescans(nextcloud("gone-container"), store,
                      executor(dockerd, "gone-container"), [str(library)])
    assert list(store.dirty_folders("nc")) == [f"{library}/2024/08"]
    # And the journal calls it retryable, as it is: the folder stays marked for the next flush
    journal = store.read_journal()
    assert [e["event"] for e in journal] == ["rescan-failed"]
    assert journal[0]["permanent"] == "0" and "gone-container" in journal[0]["reason"]


@dataclass(frozen=True)
class Answer:  # the shape of shared.rescan.clients.AppResult
    ok: bool
    status: int
    message: str
    retry: bool


class StubImmich:
    """In-memory stand-in for ImmichClient (its HTTP contract is tested with the client)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers, self.calls = list(answers), []

    def scan_library(self, library_id: str) -> Answer:
        self.calls.append(library_id)
        return self.answers.pop(0)


def test_immich_scans_the_whole_library_once_per_flush(store: RedisStateStore) -> None:
    target = RescanTarget(name="im", command=(), kind="immich",
                          app=AppConfig(url="http://immich", api_key_file="k", library_id="L1"))
    client = StubImmich(Answer(False, 503, "busy", True), Answer(True, 204, "", False))
    for folder in ("/lib/a", "/lib/b", "/other/c"):
        store.mark_dirty("im", folder, 0.1)
    with pytest.raises(CommandFailed):
        flush_rescans(target, store, None, ["/lib", "/other"], {"im": client})  # type: ignore[arg-type]
    assert len(store.dirty_folders("im")) == 3
    flush_rescans(target, store, None, ["/lib", "/other"], {"im": client})  # type: ignore[arg-type]
    assert client.calls == ["L1", "L1"] and store.dirty_folders("im") == {}


class StubPhotoPrism:
    """In-memory stand-in for PhotoPrismClient (its HTTP contract is tested with the client)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers, self.paths = list(answers), []

    def index(self, path: str, rescan: bool = False, cleanup: bool = False) -> Answer:
        self.paths.append(path)
        return self.answers.pop(0)


def test_photoprism_api_indexes_the_subfolder_and_refused_token_is_permanent(
        store: RedisStateStore) -> None:
    target = RescanTarget(name="ppapi", command=(), kind="photoprism",
                          app=AppConfig(mode="api", url="http://pp", token_file="t",
                                        files_prefix="Library"))
    client = StubPhotoPrism(Answer(True, 200, "", False), Answer(False, 401, "bad token", False))
    store.mark_dirty("ppapi", "/lib/2024/08", 0.1)
    flush_rescans(target, store, None, ["/lib"], {"ppapi": client})  # type: ignore[arg-type]
    store.mark_dirty("ppapi", "/lib/2024/09", 0.1)
    with pytest.raises(RescanRefused, match="2024/09"):
        flush_rescans(target, store, None, ["/lib"], {"ppapi": client})  # type: ignore[arg-type]
    assert client.paths == ["Library/2024/08", "Library/2024/09"]
    refused = [e for e in store.read_journal() if e["event"] == "rescan-failed"][-1]
    assert refused["reason"] == "HTTP 401: bad token" and refused["permanent"] == "1"


def test_the_scan_lock_is_renewed_before_each_folder(store: RedisStateStore,
                                                     redis_client: redis.Redis) -> None:
    # Given three folders whose scans take a while each
    import time

    from shared.executors.base import CommandResult

    lock_key = store.key("lock", "rescan:slow")
    ttls: list[int] = []

    class SlowExecutor:
        def describe(self) -> str:
            return "slow"

        def run(self, argv: tuple[str, ...], timeout: float, user: str = "") -> CommandResult:
            ttls.append(int(redis_client.pttl(lock_key)))
            time.sleep(0.4)
            return CommandResult(argv, 0, "", "", 0.4)

    target = RescanTarget(name="slow", command=("scan", "{folder}"), timeout_seconds=1)
    for folder in ("/lib/a", "/lib/b", "/lib/c"):
        store.mark_dirty("slow", folder, 0.1)
    flush_rescans(target, store, SlowExecutor(), ["/lib"])  # type: ignore[arg-type]
    # Then each folder started with the lock's full time to live, not what was left of it
    full = int(DEFAULT_LEASE_SECONDS * 1000)  # a lease, renewed while the flush runs
    assert len(ttls) == 3 and all(full - 200 < ttl <= full for ttl in ttls), ttls
