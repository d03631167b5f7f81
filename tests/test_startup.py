"""Start-up cost and resident memory: every `mediacourier` command imports its modules before
it does anything, and a long-running one (the watcher) keeps them in memory. So a heavy library
only the SSH, HTTP, fallback-EXIF, compression or metrics paths need is imported where it is
used (shared/remote/wire.py says why). These tests hold the command line to that."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.procs import REPO

# Each costs tens to hundreds of milliseconds to import on this machine (python -X importtime);
# Pillow + pillow-heif and prometheus_client added 10 and 12 MB of resident memory.
HEAVY = ("paramiko", "invoke", "requests", "urllib3", "exifread", "PIL", "pillow_heif",
         "prometheus_client")


def modules_after(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, check=True)
    return set(json.loads(done.stdout))


def test_the_command_line_loads_no_library_only_other_paths_need() -> None:
    # Given the module every `mediacourier` command (sync, watch) starts with
    # When it is imported in a fresh interpreter
    loaded = modules_after("import workers.cli")
    # Then none of the heavy libraries only other paths need is loaded
    assert sorted(loaded & set(HEAVY)) == []
    # … while what sync does need is there (the check looks at the right interpreter)
    assert {"redis", "shared.ingest", "shared.transfer"} <= loaded


def test_the_sftp_code_still_brings_paramiko_when_it_is_used() -> None:
    # Given the module that opens SFTP sessions, imported: paramiko is not loaded yet
    assert "paramiko" not in modules_after("import shared.remote.sftp_session")
    # When it asks which errors mean a lost connection (what every session call catches)
    loaded = modules_after("from shared.remote.sftp_session import lost; lost()")
    # Then paramiko comes with it: the lazy imports moved the cost, they did not drop the code
    assert "paramiko" in loaded


def test_compressing_a_photo_still_brings_pillow_and_libheif() -> None:
    # Given the module a flow's compress step encodes photos with, imported: no Pillow yet
    assert "PIL" not in modules_after("import shared.compress.images")
    # When it opens Pillow for a first photo
    loaded = modules_after("from shared.compress.images import pillow; pillow()")
    # Then Pillow and pillow-heif come with it
    assert {"PIL", "pillow_heif"} <= loaded
