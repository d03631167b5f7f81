"""A library mirrored to real restic repositories (a local disk, SFTP through the test sshd):
exactly the plan's files in each snapshot, `restic check --read-data` clean, restored files
byte-identical and checked against the library index, the space report, and a SIGKILLed
restic run that leaves the repository consistent for the next one."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
from pathlib import Path

from bench.sshd import SshServer
from shared.config import load_settings
from shared.mirror import Progress, run_named_mirror
from tests.e2e.backups import PASSWORD, indexed_library, password_file, restic, tree
from tests.e2e.harness import Deployment, wait_for


def _restic_target(dep: Deployment, repository: str, **extra: object) -> Path:
    secret = password_file(dep.root)
    dep.tables = {**dep.tables,
                  "targets.vault": {"kind": "restic", "repository": repository,
                                    "password_file": str(secret), **extra},
                  "mirrors.vault": {"library": "lib", "target": "vault"}}
    dep.write_config()
    return secret


def _snapshots(repo: str, secret: Path, extra: tuple[str, ...] = ()) -> list[dict]:
    done = restic(repo, secret, "snapshots", "--json", extra=extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _files_in(repo: str, secret: Path, snapshot: str, extra: tuple[str, ...] = ()) -> set[str]:
    done = restic(repo, secret, "ls", "--json", snapshot, extra=extra)
    nodes = [json.loads(line) for line in done.stdout.splitlines()]
    return {n["path"].lstrip("/") for n in nodes
            if n.get("struct_type") == "node" and n["type"] == "file"}


def test_a_library_in_restic_restores_byte_identical(deployment: Deployment,
                                                     corpus_dir: Path) -> None:
    # Given an indexed library (with Windows clutter in it) and a new restic repository
    library = indexed_library(deployment, corpus_dir)
    (library / "tiff" / "Thumbs.db").write_bytes(b"clutter, never backed up")
    repo = str(deployment.root / "usb" / "restic")
    secret = _restic_target(deployment, repo, compression="max", tags=["photos"])
    assert restic(repo, secret, "init", "--repository-version", "2").returncode == 0
    wanted = {rel: sha for rel, sha in tree(library).items() if not rel.endswith("Thumbs.db")}
    # When the mirror runs
    done = deployment.run_cli("mirror", "vault")
    # Then it succeeds, prints the space report and journals it
    assert done.returncode == 0, done.stdout + done.stderr
    assert "compression ratio" in done.stdout and "deduplication saved" in done.stdout
    space = deployment.events("backup_space")
    assert len(space) == 1 and int(space[0]["stored"]) > 0, space
    assert int(space[0]["added"]) >= sum((library / rel).stat().st_size for rel in wanted) // 2
    # And one snapshot holds exactly the plan's files, tagged, and the repository reads clean
    snapshots = _snapshots(repo, secret)
    assert len(snapshots) == 1
    assert {"mediacourier", "mirror=vault", "photos"} <= set(snapshots[0]["tags"])
    assert _files_in(repo, secret, snapshots[0]["id"]) == set(wanted)
    assert PASSWORD not in done.stdout + done.stderr + deployment.logs()
    check = restic(repo, secret, "check", "--read-data")
    assert check.returncode == 0, check.stdout + check.stderr
    # When everything is restored into a new folder
    restored = deployment.root / "restored"
    done = deployment.run_cli("restore", "vault", "--to", str(restored))
    # Then every file is back, byte for byte, and each was checked against the library index
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(restored) == wanted
    assert f"restored {len(wanted)} files, {len(wanted)} verified against the library index" \
        in done.stdout
    # When a restore is asked into that (now full) folder, Then it is refused, in one line
    again = deployment.run_cli("restore", "vault", "--to", str(restored))
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "not empty" in again.stderr
    # When one file changes and the mirror runs again, Then an older snapshot still restores
    # the file as it was
    some = sorted(wanted)[0]
    (library / some).write_bytes(b"edited since")
    assert deployment.run_cli("mirror", "vault").returncode == 0
    first = snapshots[0]["id"]
    old = deployment.root / "old"
    done = deployment.run_cli("restore", "vault", some, "--to", str(old), "--snapshot", first)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(old) == {some: wanted[some]}
    assert len(_snapshots(repo, secret)) == 2


def test_a_file_that_rotted_before_its_backup_is_caught_on_restore(
        deployment: Deployment, corpus_dir: Path) -> None:
    # Given an indexed library where one file rotted (a byte flipped) before the backup
    library = indexed_library(deployment, corpus_dir, parts=("tiff",))
    repo = str(deployment.root / "restic")
    secret = _restic_target(deployment, repo)
    assert restic(repo, secret, "init").returncode == 0
    rotten = sorted(tree(library))[0]
    data = bytearray((library / rotten).read_bytes())
    data[len(data) // 2] ^= 0x01
    (library / rotten).write_bytes(bytes(data))
    assert deployment.run_cli("mirror", "vault").returncode == 0
    # When the library is restored
    done = deployment.run_cli("restore", "vault", "--to", str(deployment.root / "back"))
    # Then restic's own check passed, but the index says the file is not what was ingested
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"DIFFERS {rotten}:" in done.stdout
    assert "1 DIFFER from the index" in done.stdout


def test_a_restic_repository_over_sftp(deployment: Deployment, corpus_dir: Path,
                                       sshd: SshServer) -> None:
    # Given a repository on the SSH host, reached with its pinned host key
    library = indexed_library(deployment, corpus_dir, parts=("tiff",))
    remote = deployment.root / "nas" / "restic"
    ssh = ["-o", "sftp.command=" + shlex.join([*sshd.ssh_command(), "-s", "sftp"])]
    repo = f"sftp:{sshd.user}@{sshd.host}:{remote}"
    secret = _restic_target(deployment, f"sftp:{remote}", host=sshd.host, port=sshd.port,
                            user=sshd.user, key_file=str(sshd.key_file),
                            known_hosts=str(sshd.known_hosts))
    assert restic(repo, secret, "init", extra=tuple(ssh)).returncode == 0
    # When the mirror runs and the library is restored
    assert deployment.run_cli("mirror", "vault").returncode == 0
    restored = deployment.root / "restored"
    done = deployment.run_cli("restore", "vault", "--to", str(restored))
    # Then the files are back byte for byte, and the repository reads clean over SFTP
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(restored) == tree(library)
    check = restic(repo, secret, "check", "--read-data", extra=tuple(ssh))
    assert check.returncode == 0, check.stdout + check.stderr
    # When the host's key is not the pinned one, Then the run stops, in one line, exit 4
    stranger = deployment.root / "known_hosts"
    stranger.write_text(sshd.known_hosts_line().rsplit(" ", 1)[0] + " AAAAC3NzaC1lZDI1NTE5AAAA"
                        "IOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    deployment.tables["targets.vault"]["known_hosts"] = str(stranger)
    deployment.write_config()
    (library / "tiff" / "new.txt").write_text("needs a run")
    done = deployment.run_cli("mirror", "vault")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "host key" in done.stderr and done.stderr.strip().count("\n") == 0


def _restic_child(parent: int) -> int | None:
    """The pid of a `restic` process whose parent is `parent`."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
        if name == "restic" and int(rest.split()[1]) == parent:
            return int(entry)
    return None


def test_a_killed_restic_run_leaves_the_repository_consistent(deployment: Deployment) -> None:
    # Given a plain folder of 48 MB of incompressible files mirrored to a restic repository
    source = deployment.folder("big")
    for i in range(24):
        (source / f"clip{i:02}.mov").write_bytes(os.urandom(2_000_000))
    repo = str(deployment.root / "restic")
    secret = password_file(deployment.root)
    deployment.tables = {"targets.vault": {"kind": "restic", "repository": repo,
                                           "password_file": str(secret)},
                         "mirrors.big": {"source_path": str(source), "target": "vault"}}
    deployment.write_config()
    assert restic(repo, secret, "init").returncode == 0
    # When restic is SIGKILLed once it has written data to the repository
    cli = deployment.spawn("mirror", [sys.executable, "-m", "workers.cli", "mirror", "big"])
    child = wait_for(lambda: _restic_backup_child(cli.popen.pid), 60, "restic backup to start")
    wait_for(lambda: list(Path(repo, "data").rglob("*"))
             and any(p.is_file() for p in Path(repo, "data").rglob("*")), 60,
             "the first pack file")
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: not cli.alive(), 60, "the mirror command to end")
    assert cli.popen.returncode != 0
    # Then the repository is consistent: no snapshot from the killed run, nothing damaged
    # (--no-lock: the dead run's lock is still there, and stale)
    check = restic(repo, secret, "check", extra=("--no-lock",))
    assert check.returncode == 0, check.stdout + check.stderr
    assert _snapshots(repo, secret) == []
    # When the mirror runs again, Then it completes, with progress from restic's JSON lines
    settings = load_settings(str(deployment.config_path), env={})
    seen: list[Progress] = []
    summary = run_named_mirror(settings, "big", progress=seen.append)
    assert summary.failed == 0 and summary.copied == 24, summary.errors
    assert seen and seen[-1].total == 24 and seen[-1].bytes == 48_000_000
    restored = deployment.root / "restored"
    done = deployment.run_cli("restore", "big", "--to", str(restored))
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(restored) == tree(source)
    # And the stale lock is gone (the run after a killed one unlocks): a locking check works
    check = restic(repo, secret, "check", "--read-data")
    assert check.returncode == 0, check.stdout + check.stderr


def _restic_backup_child(cli_pid: int) -> int | None:
    pid = _restic_child(cli_pid)
    if pid is None:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return pid if b"backup" in argv else None



def test_retention_forgets_and_prunes_on_its_schedule(deployment: Deployment) -> None:
    # Given a folder mirrored to restic with keep_last = 1, applied at most once a second
    source = deployment.folder("photos")
    (source / "a.jpg").write_bytes(os.urandom(50_000))
    repo = str(deployment.root / "restic")
    secret = password_file(deployment.root)
    deployment.tables = {"targets.vault": {"kind": "restic", "repository": repo,
                                           "password_file": str(secret), "keep_last": 1,
                                           "prune_every": 1},
                         "mirrors.m": {"source_path": str(source), "target": "vault"}}
    deployment.write_config()
    assert restic(repo, secret, "init").returncode == 0
    # When the mirror runs twice, a file added in between (each run takes seconds)
    assert deployment.run_cli("mirror", "m").returncode == 0
    (source / "b.jpg").write_bytes(os.urandom(50_000))
    done = deployment.run_cli("mirror", "m")
    # Then only the latest snapshot is kept, with both files, and the repository reads clean
    assert done.returncode == 0, done.stdout + done.stderr
    # and the progress bar, sized by the plan (50 kB to send), ends full, not beyond
    assert re.search(r"2/2 files (\d+\.\d)/\1 kB", done.stdout), done.stdout
    assert "retention applied (keep_last 1)" in done.stdout
    snapshots = _snapshots(repo, secret)
    assert len(snapshots) == 1
    assert _files_in(repo, secret, snapshots[0]["id"]) == {"a.jpg", "b.jpg"}
    assert len(deployment.events("backup_retention")) == 2
    check = restic(repo, secret, "check", "--read-data")
    assert check.returncode == 0, check.stdout + check.stderr
