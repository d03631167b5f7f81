"""`mediacourier sync` to an rsync-over-ssh target leaves no ssh ControlMaster process and no
`mc-ssh-*` folder behind, whether the files went over or ssh refused the host key (real sshd,
real redis-server, the command as a subprocess)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.sshd import SshServer, make_key
from tests.e2e.harness import Deployment, wait_for
from tests.shared.ssh_helpers import ssh_processes_under
from tests.workers.cli_helpers import cli


class TwoHostKeysSshd(SshServer):
    """An sshd with an RSA host key beside its ed25519 one."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.rsa_key = self.root / "host_rsa"
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f",
                        str(self.rsa_key)], check=True, capture_output=True)

    def _write_config(self) -> Path:
        config = super()._write_config()
        config.write_text(config.read_text() + f"HostKey {self.rsa_key}\n")
        return config


@pytest.fixture
def temp_dir() -> Iterator[Path]:
    """The command's TMPDIR (where its mc-ssh-* folders go), short enough for a socket path."""
    path = Path(tempfile.mkdtemp(prefix="mcssh", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def rsync_setup(dep: Deployment, server: SshServer, known_hosts: Path) -> tuple[Path, Path]:
    """A copy-mode source of six settled files, its library on an rsync target."""
    source, remote = dep.folder("inbox"), dep.root / "nas"
    remote.mkdir()
    dep.tables = {
        "sources.inbox": {"path": str(source), "library": "photos", "mode": "copy"},
        "libraries.photos": {"path": "photo", "target": "nas"},
        "targets.nas": {"kind": "rsync", "host": server.host, "port": server.port,
                        "user": server.user, "key_file": str(server.key_file),
                        "known_hosts": str(known_hosts), "root": str(remote), "timeout": 5},
    }
    dep.write_config()
    settled = time.time() - 60
    for number in range(6):
        path = source / f"2024/img_{number}.jpg"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(40_000 + number))
        os.utime(path, (settled, settled))
    return source, remote / "photo"


def assert_nothing_left(temp_dir: Path) -> None:
    wait_for(lambda: not ssh_processes_under(temp_dir), 10, "the ssh masters to end")
    assert not ssh_processes_under(temp_dir)
    assert list(temp_dir.iterdir()) == [], "mc-ssh-* folders left behind"


def test_sync_to_an_rsync_target_leaves_no_ssh_master(dep: Deployment, sshd: SshServer,
                                                      temp_dir: Path) -> None:
    # Given a library on an rsync target, and files to sync
    source, library = rsync_setup(dep, sshd, sshd.known_hosts)
    # When `sync` runs with two processes (each starts its ssh master)
    done = cli({**dep.env(), "TMPDIR": str(temp_dir)}, "sync", "inbox", "--workers", "2")
    # Then every file is on the target, and no ssh process or mc-ssh-* folder is left
    assert done.returncode == 0, done.stdout + done.stderr
    for path in source.rglob("*.jpg"):
        assert (library / path.relative_to(source)).read_bytes() == path.read_bytes()
    assert_nothing_left(temp_dir)


def test_sync_refused_by_ssh_on_the_host_key_leaves_nothing(dep: Deployment, tmp_path: Path,
                                                            temp_dir: Path) -> None:
    # Given a host whose RSA key known_hosts has right (the SFTP side checks that one) and whose
    # ed25519 key it has wrong (the one OpenSSH prefers: rsync's ssh is refused)
    server = TwoHostKeysSshd(tmp_path / "sshd")
    server.start()
    try:
        wrong = make_key(tmp_path / "other_host_key")
        name = f"[{server.host}]:{server.port}"
        rsa = Path(f"{server.rsa_key}.pub").read_text().split()[:2]
        ed25519 = Path(f"{wrong}.pub").read_text().split()[:2]
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(f"{name} {' '.join(rsa)}\n{name} {' '.join(ed25519)}\n")
        source, library = rsync_setup(dep, server, known_hosts)
        # When `sync` runs
        done = cli({**dep.env(), "TMPDIR": str(temp_dir)}, "sync", "inbox", "--workers", "2")
        # Then the files fail on the refusal, stay in the source, and nothing is left behind
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stdout.count("refused rsync's ssh") == 6, done.stdout
        assert len(list(source.rglob("*.jpg"))) == 6
        assert not library.exists() or not list(library.rglob("*.jpg"))
        assert_nothing_left(temp_dir)
    finally:
        server.stop()
