"""`mediacourier sync SOURCE` refuses a source a [flows.NAME] takes (exit 3, one line naming
the flow) and carries nothing: a subprocess against a real redis-server."""

from __future__ import annotations

import os
import time

import pytest

from tests.e2e.harness import Deployment
from tests.workers.cli_helpers import cli
from workers.exit_codes import REFUSED

PHOTO = b"\xff\xd8\xff\xe0 a photo " * 32


@pytest.mark.parametrize("dry_run", [False, True], ids=["sync", "dry-run"])
def test_sync_of_a_source_fed_to_a_flow_is_refused_naming_the_flow(
        dep: Deployment, dry_run: bool) -> None:
    # Given source icloud, taken by flow relay, holding a settled photo
    source, library, nas = dep.folder("icloud"), dep.folder("library"), dep.folder("nas")
    (source / "IMG_0001.jpg").write_bytes(PHOTO)
    os.utime(source / "IMG_0001.jpg", (time.time() - 60,) * 2)
    dep.tables = {"sources.icloud": {"path": str(source), "library": "library"},
                  "libraries.library": {"path": str(library)},
                  "flows.relay": {"source": "icloud"}}
    dep.write_config()
    with dep.config_path.open("a") as config:
        config.write(f'\n[[flows.relay.steps]]\nkind = "archive"\nto = "{nas}"\n')
    # When it is synced (or dry-run)
    result = cli(dep.env(), "sync", "icloud", *(["--dry-run"] if dry_run else []))
    # Then the command is refused in one line naming the flow, and nothing was carried
    assert result.returncode == REFUSED, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "mediacourier: source icloud is fed to flow relay: sync refused "
        "(`mediacourier flow relay --run` carries its files)"]
    assert "Traceback" not in result.stdout + result.stderr
    assert list(library.rglob("*")) == []
    assert (source / "IMG_0001.jpg").read_bytes() == PHOTO
