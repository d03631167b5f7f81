"""A library mirrored with the real rclone: to a local remote, to a crypt remote over it, and to
S3 (a local moto server): restored byte-identical and checked against the library index,
deletes only through the mirror's guard, a damaged encrypted copy caught on restore."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.backups import indexed_library, tree
from tests.e2e.harness import Deployment, wait_for


def rclone(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rclone", "--config", str(config), *args], capture_output=True,
                          text=True, timeout=120)


def remote_files(config: Path, location: str) -> dict[str, int]:
    done = rclone(config, "lsjson", "-R", "--files-only", location)
    assert done.returncode == 0, done.stderr
    return {e["Path"]: e["Size"] for e in json.loads(done.stdout)}


def _config(dep: Deployment, text: str) -> Path:
    path = dep.root / "rclone.conf"
    path.write_text(text)
    return path


def _mirror_to(dep: Deployment, name: str, config: Path, remote: str, path: str) -> None:
    dep.tables = {**dep.tables,
                  f"targets.{name}": {"kind": "rclone", "remote": remote, "path": path,
                                      "config_file": str(config)},
                  f"mirrors.{name}": {"library": "lib", "target": name}}
    dep.write_config()


def test_a_local_and_a_crypt_remote_restore_byte_identical(deployment: Deployment,
                                                           corpus_dir: Path) -> None:
    # Given an indexed library, a local rclone remote and a crypt remote over another folder
    library = indexed_library(deployment, corpus_dir)
    wanted = tree(library)
    plain, vault = deployment.folder("plain"), deployment.folder("vault")
    obscured = subprocess.run(["rclone", "obscure", "a crypt password"], capture_output=True,
                              text=True, check=True).stdout.strip()
    config = _config(deployment, f"[disk]\ntype = local\n\n[secret]\ntype = crypt\n"
                                 f"remote = disk:{vault}\npassword = {obscured}\n")
    _mirror_to(deployment, "plain", config, "disk:", str(plain))
    _mirror_to(deployment, "safe", config, "secret:", "photos")
    # When both mirrors run
    for name in ("plain", "safe"):
        done = deployment.run_cli("mirror", name)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "space:" in done.stdout and f"stored in {len(wanted)} files" in done.stdout
    # Then the local remote holds the files as they are, the crypt one only ciphertext names
    assert tree(plain) == wanted
    stored = [p for p in vault.rglob("*") if p.is_file()]
    assert len(stored) == len(wanted)
    names = {p.name for p in stored}
    assert not names & {Path(rel).name for rel in wanted}
    # When each is restored into a new folder
    for name in ("plain", "safe"):
        restored = deployment.root / f"restored-{name}"
        done = deployment.run_cli("restore", name, "--to", str(restored))
        # Then every file is back byte for byte and checked against the library index
        assert done.returncode == 0, done.stdout + done.stderr
        assert tree(restored) == wanted
        assert f"{len(wanted)} verified against the library index" in done.stdout
    # When one byte of an encrypted copy is damaged on the remote's disk
    victim = max(stored, key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    done = deployment.run_cli("restore", "safe", "--to", str(deployment.root / "again"))
    # Then the restore fails in one line instead of handing back a damaged file
    assert done.returncode == 1, done.stdout + done.stderr
    assert "targets.safe" in done.stderr and done.stderr.strip().count("\n") == 0


def test_deletes_go_through_the_guard(deployment: Deployment, corpus_dir: Path) -> None:
    # Given a library mirrored to a local rclone remote
    library = indexed_library(deployment, corpus_dir, parts=("tiff", "heic"))
    remote = deployment.folder("remote")
    config = _config(deployment, "[disk]\ntype = local\n")
    _mirror_to(deployment, "plain", config, "disk:", str(remote))
    assert deployment.run_cli("mirror", "plain").returncode == 0
    files = sorted(tree(library))
    # When one file is deleted from the library and the mirror runs
    (library / files[0]).unlink()
    done = deployment.run_cli("mirror", "plain")
    # Then it is deleted on the remote too, and nothing else changed
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(tree(remote)) == files[1:]
    # When most of the library vanishes (a disk not mounted), Then the run is refused, exit 3,
    # and the remote keeps every file
    for rel in files[1:-1]:
        (library / rel).unlink()
    done = deployment.run_cli("mirror", "plain")
    assert done.returncode == 3, done.stdout + done.stderr
    assert sorted(tree(remote)) == files[1:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def moto_s3(tmp_path: Path) -> Iterator[str]:
    """A local S3 server (moto in server mode) on a free loopback port: its endpoint URL."""
    port = _free_port()
    server = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
    log = (tmp_path / "moto.log").open("wb")
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return proc.poll() is not None

    try:
        wait_for(answers, 60, "moto_server to listen")
        assert proc.poll() is None, (tmp_path / "moto.log").read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_an_s3_remote(deployment: Deployment, corpus_dir: Path, moto_s3: str,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an indexed library and an S3 bucket (moto) as an rclone remote (plain http: this
    # machine's CA bundle for AWS would make rclone refuse the endpoint)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    library = indexed_library(deployment, corpus_dir, parts=("tiff",))
    wanted = tree(library)
    config = _config(deployment, "[s3]\ntype = s3\nprovider = Other\naccess_key_id = test\n"
                                 f"secret_access_key = test\nendpoint = {moto_s3}\n"
                                 "region = us-east-1\n")
    assert rclone(config, "mkdir", "s3:photos").returncode == 0
    _mirror_to(deployment, "cloud", config, "s3:", "photos/library")
    # When the mirror runs, and then runs again with nothing changed
    first = deployment.run_cli("mirror", "cloud")
    second = deployment.run_cli("mirror", "cloud")
    # Then every file is in the bucket, and the second run found them all in sync
    assert first.returncode == 0, first.stdout + first.stderr
    assert remote_files(config, "s3:photos/library") == {
        rel: (library / rel).stat().st_size for rel in wanted}
    assert second.returncode == 0, second.stdout + second.stderr
    runs = deployment.events("mirror")
    assert [r["copied"] for r in runs] == [str(len(wanted)), "0"]
    assert runs[-1]["unchanged"] == str(len(wanted))
    # When the library is restored from the bucket, Then it is byte-identical and verified
    restored = deployment.root / "restored"
    done = deployment.run_cli("restore", "cloud", "--to", str(restored))
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(restored) == wanted
    assert f"{len(wanted)} verified against the library index" in done.stdout
