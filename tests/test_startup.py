"""Start-up cost: every `mediacourier` command imports its modules before it does anything, so
a heavy library only the SSH, HTTP or fallback-EXIF paths need is imported where it is used
(shared/remote/wire.py says why). These tests hold `mediacourier sync` to that."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.procs import REPO

# Each costs tens to hundreds of milliseconds to import on this machine (python -X importtime).
HEAVY = ("paramiko", "invoke", "requests", "urllib3", "exifread", "croniter")


def modules_after(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, check=True)
    return set(json.loads(done.stdout))


def test_the_sync_command_loads_no_ssh_http_or_exifread_library() -> None:
    # Given the module `mediacourier sync` runs
    # When it is imported in a fresh interpreter
    loaded = modules_after("import workers.sync")
    # Then none of the heavy libraries only other paths need is loaded
    assert sorted(loaded & set(HEAVY)) == []
    # … while what sync does need is there (the check looks at the right interpreter)
    assert {"redis", "shared.ingest", "shared.transfer"} <= loaded


def test_opening_an_sftp_session_module_still_brings_paramiko() -> None:
    # Given the module that opens SFTP sessions
    # When it is imported
    loaded = modules_after("import shared.remote.sftp_session")
    # Then paramiko comes with it: the lazy imports moved the cost, they did not drop the code
    assert "paramiko" in loaded
