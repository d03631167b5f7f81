"""`mediacourier mirror NAME [--dry-run] [--force]`: a subprocess against a real redis-server.

Exit status: 0 done, 1 some files failed, 2 the guard refused (or an unknown mirror)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.e2e.harness import Deployment
from tests.workers.cli_helpers import clean_env, cli, configure


def setup(dep: Deployment, corpus_dir: Path) -> tuple[Path, Path, dict[str, str]]:
    _, library = configure(dep)
    shutil.copytree(corpus_dir / "jpg" / "gps", library / "gps")
    (library / "gps" / "DSCN0010.xmp").write_text("<x:xmpmeta/>")
    nas = dep.folder("nas")
    dep.tables = {**dep.tables, "targets.nas": {"kind": "local", "root": str(nas)},
                  "mirrors.backup": {"library": "library", "target": "nas", "max_delete": 1,
                                     "max_delete_share": 0.5}}
    dep.write_config()
    return library, nas, clean_env(MEDIACOURIER_CONFIG=str(dep.config_path))


def test_dry_run_then_run_then_guard(dep: Deployment, corpus_dir: Path) -> None:
    library, nas, env = setup(dep, corpus_dir)
    # Given stale and newer files on the destination
    (nas / "gps").mkdir()
    (nas / "gps" / "DSCN0010.jpg").write_bytes(b"stale")
    os.utime(nas / "gps" / "DSCN0010.jpg", (1, 1))
    newer = nas / "gps" / "DSCN0012.jpg"
    newer.write_bytes(b"edited on the NAS")
    (nas / "extra.jpg").write_bytes(b"extra")
    # When dry-run, Then every action is listed with its reason, and nothing changes
    dry = cli(env, "mirror", "backup", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert any("copy" in line and "gps/DSCN0021.jpg" in line and "new" in line for line in lines)
    assert any("copy" in line and "gps/DSCN0010.xmp" in line for line in lines)
    assert any("update" in line and "gps/DSCN0010.jpg" in line and "size differs" in line
               for line in lines)
    assert any("skip" in line and "gps/DSCN0012.jpg" in line and "destination is newer" in line
               for line in lines)
    assert any("delete" in line and "extra.jpg" in line for line in lines)
    assert "Nothing was changed." in dry.stdout
    assert (nas / "gps" / "DSCN0010.jpg").read_bytes() == b"stale"
    # When run, Then it succeeds, keeps the newer file, and prints the summary
    run = cli(env, "mirror", "backup")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "mirror summary" in run.stdout and not (nas / "extra.jpg").exists()
    assert newer.read_bytes() == b"edited on the NAS"
    for path in (library / "gps").iterdir():
        if path.name != "DSCN0012.jpg":
            assert (nas / "gps" / path.name).read_bytes() == path.read_bytes()
    # When two files vanish from the library (guard: max_delete = 1)
    (library / "gps" / "DSCN0021.jpg").unlink()
    (library / "gps" / "DSCN0025.jpg").unlink()
    dry = cli(env, "mirror", "backup", "--dry-run")
    refused = cli(env, "mirror", "backup")
    # Then the dry run warns, the run is refused with the counts, exit 3 (a guard refused: not
    # 2, a configuration error), nothing deleted
    assert dry.returncode == 3 and "a real run would be refused" in dry.stdout
    assert refused.returncode == 3 and refused.stdout.strip() == ""  # no progress bar either
    assert len(refused.stderr.splitlines()) == 1
    assert "would delete 2 of " in refused.stderr and "at most 1 files" in refused.stderr
    assert (nas / "gps" / "DSCN0021.jpg").exists()
    forced = cli(env, "mirror", "backup", "--force")
    assert forced.returncode == 0 and not (nas / "gps" / "DSCN0021.jpg").exists()
    # And history has the refusal and both runs
    history = json.loads(cli(env, "history", "--format", "json").stdout)
    assert [e["event"] for e in history if e["event"].startswith("mirror")] == [
        "mirror", "mirror_refused", "mirror"]


def test_a_failed_file_exits_1_and_unknown_mirror_exits_2(dep: Deployment,
                                                          corpus_dir: Path) -> None:
    _, nas, env = setup(dep, corpus_dir)
    # Given a folder on the destination holding the name of one source file
    (nas / "gps" / "DSCN0010.jpg").mkdir(parents=True)
    (nas / "gps" / "DSCN0010.jpg" / "Thumbs.db").write_bytes(b"excluded, never deleted")
    run = cli(env, "mirror", "backup")
    # Then the others are carried, the failure is named, and the exit status is 1
    assert run.returncode == 1, run.stdout + run.stderr
    assert "failed copy gps/DSCN0010.jpg" in run.stdout and "already exists" in run.stdout
    assert (nas / "gps" / "DSCN0021.jpg").is_file()
    history = json.loads(cli(env, "history", "--format", "json").stdout)
    failed = [e for e in history if e["event"] == "mirror_failed"]
    assert [e["path"] for e in failed] == ["gps/DSCN0010.jpg"]
    # And doctor checks the mirror's target: ok while it is there, FAIL once it is gone
    doctor = cli(env, "doctor")
    assert doctor.returncode == 0 and "ok    mirror backup:" in doctor.stdout, doctor.stdout
    shutil.rmtree(nas)
    doctor = cli(env, "doctor")
    assert doctor.returncode == 1
    assert "FAIL  mirror backup: targets.nas: folder" in doctor.stdout
    assert "(not mounted?)" in doctor.stdout
    unknown = cli(env, "mirror", "nope")
    assert unknown.returncode == 2 and "no mirror named 'nope'; configured: backup" in \
        unknown.stderr
