"""`mediacourier conflicts` and `resolve` as a subprocess against a real redis-server: the
conflicts a `mirror` run found, as a table and as JSON, one settled by `resolve`, and a path
not in conflict refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import Deployment
from tests.shared.mirror.conflict_cases import build_conflicts, dated, make_master, tree
from tests.workers.cli_helpers import cli, configure, dep  # noqa: F401 - the fixture


def test_conflicts_lists_them_and_resolve_settles_one(dep: Deployment) -> None:  # noqa: F811
    # Given a library mirrored once, then every kind of conflict built on disk
    backup = dep.folder("backup")
    _, library = configure(dep, **{
        "targets.usb": {"kind": "local", "root": str(backup)},
        "mirrors.usb": {"library": "library", "target": "usb", "max_delete_share": 1.0}})
    make_master(library)
    assert cli(dep.env(), "mirror", "usb").returncode == 0
    build_conflicts(library, backup)
    backup_before = tree(backup)
    assert cli(dep.env(), "mirror", "usb").returncode == 0
    after_run = tree(backup)
    # When the conflicts are listed as JSON, Then the three open ones are there with their kind
    listed = cli(dep.env(), "conflicts", "usb", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["policy"] == "report"
    assert {c["path"]: c["kind"] for c in data["conflicts"]} == {
        "a.jpg": "modified_both", "b.jpg": "size_mismatch", "c.jpg": "deleted_master"}
    # and as a table, one row each
    table = cli(dep.env(), "conflicts", "usb")
    assert table.returncode == 0 and "3 conflicts (policy report)" in table.stdout
    assert all(f"│ {rel}" in table.stdout for rel in ("a.jpg", "b.jpg", "c.jpg"))
    # When a.jpg is resolved while a run of the mirror holds its lease, Then one line, untouched
    with dep.store().lock("mirror:usb", ttl=30):
        busy = cli(dep.env(), "resolve", "usb", "a.jpg", "--keep", "both")
    assert busy.returncode != 0
    assert busy.stderr.strip() == "mediacourier: mirror:usb is being handled by another worker"
    assert tree(backup) == after_run
    # When a.jpg is resolved keeping both, Then both versions are on both sides
    done = cli(dep.env(), "resolve", "usb", "a.jpg", "--keep", "both")
    assert done.returncode == 0, done.stderr
    assert f"both kept: the backup's version is now {dated('a.jpg', 120)}" in done.stdout
    assert tree(library)[dated("a.jpg", 120)] == backup_before["a.jpg"]
    assert tree(backup)["a.jpg"] == tree(library)["a.jpg"]
    remaining = json.loads(cli(dep.env(), "conflicts", "usb", "--format", "json").stdout)
    assert [c["path"] for c in remaining["conflicts"]] == ["b.jpg", "c.jpg"]
    # When a path that is not in conflict is resolved, Then one line and exit 2
    wrong = cli(dep.env(), "resolve", "usb", "f.jpg", "--keep", "master")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == ("mediacourier: mirror usb: 'f.jpg' is not in conflict "
                                    "(open: b.jpg, c.jpg)")


def test_scrub_of_an_unknown_library_is_one_line(dep: Deployment, tmp_path: Path) -> None:  # noqa: F811
    # Given a deployment, When a library that does not exist is scrubbed, Then one line, exit 2
    configure(dep)
    done = cli(dep.env(), "scrub", "nope")
    assert done.returncode == 2
    assert done.stderr.strip() == "mediacourier: no library named 'nope'; configured: library"
