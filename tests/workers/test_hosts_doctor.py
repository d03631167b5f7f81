"""`doctor --host` and `worker --host` on a machine with its own share of the files: each checks
everything that host reaches, and nothing only another host uses."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.e2e.harness import write_toml
from tests.workers.cli_helpers import clean_env, cli
from tests.workers.test_cli import doctor_lines


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_setup(root: Path, with_keys: bool) -> Path:
    """An upload PC copying into a library on the NAS over SFTP; the NAS runs the rescan.
    The SSH key and known_hosts exist only when `with_keys` (on the PC)."""
    (root / "inbox").mkdir()
    if with_keys:
        (root / "keys").mkdir()
        (root / "keys" / "id").write_text("not a real key\n")
        (root / "keys" / "known_hosts").write_text("")
    path = root / "mediacourier.toml"
    write_toml(path, {"key_prefix": "mc", "redis_url": f"redis://127.0.0.1:{closed_port()}/0",
                      "data_dir": str(root / "data")}, {
        "targets.nas": {"kind": "sftp", "host": "127.0.0.1", "port": closed_port(),
                        "user": "photos", "root": "/volume1/photo",
                        "key_file": "keys/id", "known_hosts": "keys/known_hosts",
                        "timeout": 3},
        "sources.inbox": {"path": "inbox", "library": "photos"},
        "libraries.photos": {"path": "library", "target": "nas", "rescan": ["app"]},
        "rescan.app": {"command": ["true", "{folder}"]},
        "hosts.pc": {"sources": ["inbox"], "targets": ["nas"]},
        "hosts.nas": {"rescan": ["app"]},
    })
    return path


def test_doctor_on_the_pc_checks_the_ssh_library_its_target_reaches(tmp_path: Path) -> None:
    # Given the PC, which writes to the library on the NAS (its target lists it), while the
    # NAS is down
    config = write_setup(tmp_path, with_keys=True)
    # When doctor runs as the PC
    done = cli(clean_env(MEDIACOURIER_CONFIG=str(config)), "doctor", "--host", "pc")
    # Then the library on the NAS is checked, and fails naming the target
    lines = doctor_lines(done.stdout)
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines["library photos"][0] == "FAIL", done.stdout
    assert lines["source inbox"][0] == "ok" and "rescan app" not in lines, done.stdout


@pytest.mark.parametrize("command", [["doctor", "--host", "nas"], ["queues"]])
def test_the_nas_needs_no_key_for_a_target_only_the_pc_uses(tmp_path: Path,
                                                            command: list[str]) -> None:
    # Given no SSH key or known_hosts on the NAS: only the PC connects to it
    config = write_setup(tmp_path, with_keys=False)
    env = clean_env(MEDIACOURIER_CONFIG=str(config), MEDIACOURIER_HOST="nas")
    # When doctor (or any command) runs as the NAS
    done = cli(env, *command)
    # Then the configuration loads: no complaint about the PC's key file
    assert "key_file" not in done.stderr and done.returncode != 2, done.stderr
    if command[0] == "doctor":
        lines = doctor_lines(done.stdout)
        assert lines["rescan app"][0] == "ok" and "library photos" not in lines, done.stdout


def test_the_pc_without_its_key_file_is_told_which(tmp_path: Path) -> None:
    # Given the PC without the SSH key it needs
    config = write_setup(tmp_path, with_keys=False)
    # When doctor runs as the PC / Then one line names the file and the key
    done = cli(clean_env(MEDIACOURIER_CONFIG=str(config)), "doctor", "--host", "pc")
    assert done.returncode == 2
    assert done.stderr == (f"mediacourier: {config}: [targets.nas] key_file: file "
                           f"'{tmp_path / 'keys' / 'id'}' does not exist\n")
