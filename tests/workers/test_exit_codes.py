"""One table of exit codes for every command (workers/exit_codes.py): a cron wrapper tells a
refused guard (3) from a target it could not reach or that refused us (4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.sshd import SshServer
from shared.errors import (
    ConfigError,
    MirrorRefused,
    StoreUnavailable,
    TargetRefused,
    TargetUnreachable,
    UnknownMirror,
)
from tests.e2e.harness import Deployment
from tests.workers.cli_helpers import cli, configure
from workers import exit_codes


@pytest.mark.parametrize("error, code", [
    (MirrorRefused("would delete 9 of 10"), exit_codes.REFUSED),
    (TargetRefused("nas: host key does not match"), exit_codes.CONNECTION),
    (TargetUnreachable("nas: timed out"), exit_codes.CONNECTION),
    (StoreUnavailable("Redis unreachable"), exit_codes.CONNECTION),
    (ConfigError("[sources.x] path: no such folder"), exit_codes.CONFIG),
    (UnknownMirror("no mirror named 'x'"), exit_codes.CONFIG),
])
def test_each_kind_of_error_has_its_own_code(error: Exception, code: int) -> None:
    # When a command ends with this error; Then its exit code is the one of its kind
    assert exit_codes.code_for(error) == code


def test_the_codes_are_distinct() -> None:
    # Given the table; Then no two kinds of outcome share a code
    codes = [exit_codes.OK, exit_codes.FILES_FAILED, exit_codes.CONFIG, exit_codes.REFUSED,
             exit_codes.CONNECTION, exit_codes.INTERNAL]
    assert len(set(codes)) == len(codes)


def test_a_mirror_to_a_target_with_a_wrong_host_key_exits_4_not_the_guards_3(
        dep: Deployment, sshd: SshServer, tmp_path: Path) -> None:
    # Given a mirror to an SFTP target whose known_hosts names another key for that host:port
    configure(dep)
    (dep.folder("library") / "a.jpg").write_bytes(b"\xff\xd8 a photo")
    impostor = sshd.make_key("exit_codes_impostor_host_key")  # the sshd is the session's
    kind, blob = Path(f"{impostor}.pub").read_text().split()[:2]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    remote = dep.folder("nas")
    dep.tables = {**dep.tables,
                  "targets.nas": {"kind": "sftp", "host": sshd.host, "port": sshd.port,
                                  "user": sshd.user, "key_file": str(sshd.key_file),
                                  "known_hosts": str(known_hosts), "root": str(remote)},
                  "mirrors.backup": {"library": "library", "target": "nas"}}
    dep.write_config()

    # When the mirror runs
    done = cli(dep.env(), "mirror", "backup")

    # Then it exits 4 (connection), with one line saying the host key does not match (and no
    # chatter of the SSH library before it)
    assert done.returncode == exit_codes.CONNECTION, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("mediacourier: ") and "does not match" in line
    assert list(remote.iterdir()) == []
