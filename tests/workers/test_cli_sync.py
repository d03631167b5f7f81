"""`mediacourier sync` and `history` on a part of the photo corpus: a subprocess against a real
redis-server."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import time
from pathlib import Path

import pytest

from tests.e2e.harness import Deployment, write_toml
from tests.workers.cli_helpers import clean_env, cli, configure

PART = ("gps", "exif-org", "mobile")  # a part of the photo corpus: 27 JPEGs and two READMEs


def settled_copy(corpus_dir: Path, source: Path, parts: tuple[str, ...] = PART) -> dict[str, bytes]:
    """Copy corpus folders into the source, 60 s old (settled); the JPEGs' bytes by path."""
    for part in parts:
        shutil.copytree(corpus_dir / "jpg" / part, source / part)
    old = time.time() - 60
    for path in source.rglob("*"):
        os.utime(path, (old, old))
    return {rel: data for rel, data in files_in(source).items() if rel.endswith(".jpg")}


def add_fifo(source: Path, name: str = "stuck.jpg") -> Path:
    os.mkfifo(source / name)
    os.utime(source / name, (time.time() - 60,) * 2)
    return source / name


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def files_in(root: Path) -> dict[str, bytes]:
    return {rel: data for rel, (data, _) in tree(root).items()}


def count(stdout: str, outcome: str) -> int:
    match = re.search(rf"│ {outcome}\s+│\s+(\d+) │", stdout)
    assert match, f"no {outcome!r} row in:\n{stdout}"
    return int(match.group(1))


def processes_in(folder: Path) -> list[int]:
    # Not `pgrep -f`: redis-server rewrites its command line to 'redis-server 127.0.0.1:PORT'.
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd") == str(folder):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


# -- sync ----------------------------------------------------------------------------------

def test_sync_dry_run_lists_files_and_changes_nothing(dep: Deployment, corpus_dir: Path) -> None:
    # Given settled photos (and two READMEs) in a move source
    source, library = configure(dep, mode="move")
    media = settled_copy(corpus_dir, source)
    before = tree(source)

    # When a dry run is asked for
    done = cli(dep.env(), "sync", "inbox", "--dry-run")

    # Then every photo is listed, with the total, and nothing moved or was recorded
    assert done.returncode == 0, done.stderr
    assert all(rel in done.stdout for rel in media) and "README" not in done.stdout
    total = sum(len(b) for b in media.values())
    assert f"{len(media)} files ({total / 1e6:.1f} MB) would be ingested" in done.stdout
    assert tree(source) == before
    assert files_in(library) == {}
    assert dep.redis.client().keys("*") == []


def test_sync_copies_byte_identical_then_finds_all_unchanged(
    dep: Deployment, corpus_dir: Path
) -> None:
    # Given settled photos in a copy source
    source, library = configure(dep, mode="copy")
    media = settled_copy(corpus_dir, source)
    before = tree(source)

    # When sync runs
    done = cli(dep.env(), "sync", "inbox")

    # Then it exits 0, reports every photo ingested and the throughput, the library holds
    # exactly the photos byte for byte, and the source is untouched
    assert done.returncode == 0, done.stdout + done.stderr
    assert (count(done.stdout, "ingested"), count(done.stdout, "failed")) == (len(media), 0)
    total = sum(len(b) for b in media.values())
    summary = re.search(rf"{total / 1e6:.1f} MB in [\d.]+ s at ([\d.]+ [kMG]?B)/s \("
                        rf"{total / 1e6:.1f} MB copied, the rest duplicates or skipped\)",
                        done.stdout)
    assert summary, done.stdout
    # one rate: the bar's final figure is the summary's (the whole run's average)
    bar = re.search(r"files [\d.]+/[\d.]+ MB ([\d.]+ [kMG]?B)/s", done.stdout)
    assert bar and bar.group(1) == summary.group(1), done.stdout
    assert files_in(library) == media
    assert tree(source) == before

    # When sync runs again; Then nothing new is ingested: it says there is nothing to do, with
    # every photo unchanged, instead of an empty progress bar
    again = cli(dep.env(), "sync", "inbox")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"nothing to do in inbox: {len(media)} files unchanged" in again.stdout
    assert "0/0" not in again.stdout and "summary" not in again.stdout
    assert files_in(library) == media


def test_sync_fails_a_fifo_moves_the_rest_and_status_reports_it(
    dep: Deployment, corpus_dir: Path
) -> None:
    # Given settled photos and a FIFO named like a photo in a move source
    source, library = configure(dep, mode="move")
    media = settled_copy(corpus_dir, source, ("gps",))
    fifo = add_fifo(source)

    # When sync runs
    done = cli(dep.env(), "sync", "inbox")

    # Then it exits 1, one failure line names the FIFO, and the photos were moved intact
    assert done.returncode == 1, done.stdout + done.stderr
    assert (count(done.stdout, "failed"), count(done.stdout, "ingested")) == (1, len(media))
    failure = [line for line in done.stdout.splitlines() if line.startswith("failed ")]
    assert len(failure) == 1 and "inbox/stuck.jpg" in failure[0] and "FIFO" in failure[0]
    assert files_in(library) == media
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert set(files_in(source)) == {"gps/README"}

    # When a worker runs and status is asked for
    dep.start_worker("w1")
    done = cli(dep.env(), "status", "--timeout", "2")

    # Then it names the worker, the queue depth, the counts and the failure with its reason
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"workers online\s+│ w1-{dep.prefix}@", done.stdout), done.stdout
    assert re.search(rf"queue {re.escape(dep.prefix)}\s+│ 0 ", done.stdout), done.stdout
    assert re.search(rf"│ ingested\s+│ {len(media)} ", done.stdout), done.stdout
    failures = done.stdout.split("failing now", 1)[1].splitlines()
    assert any("inbox:stuck.jpg" in line and "is a FIFO" in line for line in failures)


@pytest.mark.e2e  # starts a real redis-server itself
def test_sync_without_redis_runs_a_private_server_and_stops_it(
    tmp_path: Path, corpus_dir: Path
) -> None:
    # Given a config with no redis_url, no `up` running, and data_dir in tmp
    source, library, data_dir = tmp_path / "inbox", tmp_path / "library", tmp_path / "data"
    source.mkdir()
    library.mkdir()
    media = settled_copy(corpus_dir, source, ("mobile",))
    config = tmp_path / "mediacourier.toml"
    write_toml(config, {"data_dir": str(data_dir)},
               {"sources.inbox": {"path": str(source), "library": "library", "mode": "copy"},
                "libraries.library": {"path": str(library)}})
    env = clean_env(MEDIACOURIER_CONFIG=str(config))

    # When sync runs
    done = cli(env, "sync", "inbox")

    # Then it succeeds with a redis-server of its own in data_dir, gone afterwards
    assert done.returncode == 0, done.stdout + done.stderr
    assert count(done.stdout, "ingested") == len(media)
    assert files_in(library) == media
    assert (data_dir / "redis" / "redis.log").is_file()
    assert processes_in(data_dir / "redis") == []

    # And history, again with a private server, finds what that sync recorded
    history = cli(env, "history", "--format", "json")
    assert history.returncode == 0, history.stderr
    assert sorted(e["path"] for e in json.loads(history.stdout)) == sorted(media)
    assert processes_in(data_dir / "redis") == []


def test_sync_of_an_unknown_source_names_the_known_ones(dep: Deployment) -> None:
    # Given two sources
    configure(dep, **{"sources.phone": {"path": str(dep.folder("phone")), "library": "library"}})

    # When sync is asked for a source that is not configured
    done = cli(dep.env(), "sync", "camera")

    # Then it exits 2 naming it and the configured ones, and touches nothing
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'camera'" in done.stderr and "inbox, phone" in done.stderr
    assert dep.redis.client().keys("*") == []


# -- history -------------------------------------------------------------------------------

def test_history_in_json_csv_and_table(dep: Deployment, corpus_dir: Path) -> None:
    # Given a sync of 11 photos
    source, _ = configure(dep)
    media = settled_copy(corpus_dir, source, ("gps", "mobile"))
    assert cli(dep.env(), "sync", "inbox").returncode == 0
    sizes = {rel: len(data) for rel, data in media.items()}

    # When history is asked for as JSON; Then one ingested entry per photo, with its bytes
    done = cli(dep.env(), "history", "--format", "json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [e["event"] for e in entries] == ["ingested"] * len(media)
    assert {e["path"]: int(e["bytes"]) for e in entries} == sizes

    # When as CSV; Then a header, then one row per photo with its bytes
    done = cli(dep.env(), "history", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("at,event,source,path,dest")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == len(media) and {r["path"]: int(r["bytes"]) for r in rows} == sizes

    # When as a table; Then it names every photo
    done = cli(dep.env(), "history", "--format", "table")
    assert done.returncode == 0, done.stderr
    assert f"last {len(media)} operations" in done.stdout
    assert all(rel in done.stdout for rel in media)
