"""The dry-run plan agrees with what real rsync says for the same trees.

rsync has no /XO rule by default, so it runs with `--update` (keep newer destination files);
rsync has no renames, so a planned rename is compared as the delete + copy pair rsync would do
instead. The trees differ in time by far more than our 2-second window and rsync runs with its
default exact times: rsync 3.x with `--update --modify-window=N` (N > 0) skips a file whose
times are equal but whose sizes differ, against its own manual (and robocopy), which update it.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.mirror.plan import MirrorRules, plan_mirror
from shared.mirror.run import run_mirror
from shared.transfer.destinations import LocalDestination
from tests.shared.mirror.mirror_trees import put_file

# Installed by ./dev (APT_TEST_PACKAGES): missing, the test fails instead of skipping.
RSYNC = shutil.which("rsync") or "rsync"
EXCLUDES = ["Thumbs.db", ".DS_Store", "desktop.ini", "@eaDir/", ".mediacourier-*", "*.tmp"]


def rsync_itemize(src: Path, dst: Path, *extra: str) -> dict[str, set[str]]:
    """Files rsync -ni would create, update and delete (folders left out)."""
    argv = [RSYNC, "-rtni8", "--delete", *extra,
            *(f"--exclude={p}" for p in EXCLUDES), f"{src}/", f"{dst}/"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True,
                          env={**os.environ, "LC_ALL": "C.UTF-8"})
    found: dict[str, set[str]] = {"new": set(), "update": set(), "delete": set()}
    for line in done.stdout.splitlines():
        code, name = line[:11], line[12:]
        if name.endswith("/"):
            continue
        if code.startswith("*deleting"):
            found["delete"].add(name)
        elif code.startswith(">f+++++++++"):
            found["new"].add(name)
        elif code.startswith(">f"):
            found["update"].add(name)
        else:
            raise AssertionError(f"unexpected rsync line {line!r}")
    return found


def build_trees(src: Path, dst: Path) -> None:
    put_file(src, "new/deep/a.jpg", "new file", age_s=30)
    put_file(src, "new/deep/a.xmp", "<xmp/>", age_s=30)
    put_file(src, "Ferien 2024/é café.jpg", "unicode and spaces", age_s=40)
    for i in range(5):
        put_file(src, f"same/{i}.jpg", f"same {i}", age_s=100)
        put_file(dst, f"same/{i}.jpg", f"same {i}", age_s=100)
    put_file(src, "grew.jpg", "longer than before", age_s=100)
    put_file(dst, "grew.jpg", "short", age_s=100)
    put_file(src, "retouched.jpg", "AAAA", age_s=10)
    put_file(dst, "retouched.jpg", "BBBB", age_s=100)
    put_file(src, "edited-on-nas.jpg", "v1", age_s=100)
    put_file(dst, "edited-on-nas.jpg", "v2 longer", age_s=10)
    put_file(src, "moved/here.jpg", "moved content", age_s=70)
    put_file(dst, "was/there.jpg", "moved content", age_s=70)
    put_file(dst, "extra/one.jpg", "gone from source")
    put_file(dst, "extra2.jpg", "gone too")
    for side in (src, dst):
        put_file(side, "Thumbs.db", f"{side.name} thumbs")
        put_file(side, "@eaDir/x/SYNOPHOTO_THUMB.jpg", f"{side.name} thumb")
        put_file(side, "draft.tmp", f"{side.name}")
    put_file(src, "sub/.DS_Store", "mac")


def test_dry_run_matches_rsync_itemize(tmp_path: Path) -> None:
    # Given the same two trees for both tools
    src, dst = tmp_path / "src", tmp_path / "dst"
    build_trees(src, dst)
    # When both plan
    plan = plan_mirror(src, LocalDestination(dst), MirrorRules(["*.tmp"]), modify_window=2,
                       max_delete=100, max_delete_share=1.0)
    rsync = rsync_itemize(src, dst, "--update")
    # Then they agree file for file (a rename counting as rsync's delete + copy)
    assert {a.rel_path for a in plan.copies} | {a.rel_path for a in plan.renames} == rsync["new"]
    assert {a.rel_path for a in plan.updates} == rsync["update"]
    assert {a.rel_path for a in plan.deletes} | {a.old_path for a in plan.renames} == \
        rsync["delete"]
    assert [(a.old_path, a.rel_path) for a in plan.renames] == [("was/there.jpg",
                                                                 "moved/here.jpg")]
    # And what we keep as "destination is newer" is exactly what --update made rsync keep
    without_update = rsync_itemize(src, dst)
    kept_newer = {a.rel_path for a in plan.skipped if "newer" in a.reason}
    assert kept_newer == without_update["update"] - rsync["update"] == {"edited-on-nas.jpg"}
    assert plan.unchanged == 5


def test_after_a_run_rsync_checksums_find_no_difference(tmp_path: Path) -> None:
    # Given the same trees, mirrored for real (forced past the default guard)
    src, dst = tmp_path / "src", tmp_path / "dst"
    build_trees(src, dst)
    (dst / "edited-on-nas.jpg").unlink()  # otherwise kept on purpose (/XO) and so different
    dest = LocalDestination(dst)
    plan = plan_mirror(src, dest, MirrorRules(["*.tmp"]))
    summary = run_mirror(plan, src, dest, force=True)
    assert summary.failed == 0 and summary.renamed == 1
    # Then rsync comparing full checksums has nothing to send and nothing to delete
    check = subprocess.run([RSYNC, "-rcni8", "--delete",
                            *(f"--exclude={p}" for p in EXCLUDES), f"{src}/", f"{dst}/"],
                           capture_output=True, text=True, check=True)
    # (folders holding only excluded files are not created: the mirror carries files)
    assert [line for line in check.stdout.splitlines() if not line.endswith("/")] == []
    assert check.stdout.strip() == "cd+++++++++ sub/"


def random_trees(src: Path, dst: Path, seed: int) -> None:
    """Sixty paths in a few folders, each in one state: only in the source, only on the
    destination, equal, or differing in size and/or time (by 10 s or more: never near the
    2-second window), plus a few moved files."""
    rng = random.Random(seed)
    for i in range(60):
        rel = f"{rng.choice(['', 'a/', 'a/b/', 'c/'])}f{i}.{rng.choice(['jpg', 'xmp', 'mov'])}"
        size, age = rng.randint(1, 40), rng.randint(1, 50) * 10
        state = rng.choice(["src", "dst", "equal", "size", "older", "newer", "both"])
        if state in ("src", "equal", "size", "older", "newer", "both"):
            put_file(src, rel, "s" * size, age_s=age)
        if state == "dst":
            put_file(dst, rel, "d" * size, age_s=age)
        elif state == "equal":
            put_file(dst, rel, "s" * size, age_s=age)
        elif state == "size":
            put_file(dst, rel, "s" * (size + 3), age_s=age)
        elif state == "older":  # destination older than the source
            put_file(dst, rel, "d" * size, age_s=age + 100)
        elif state == "newer":  # destination newer: kept
            put_file(dst, rel, "d" * (size + 1), age_s=age - 5)
        elif state == "both":
            put_file(dst, rel, "d" * (size + 2), age_s=age + 30)
    for i in range(3):  # moved: same bytes and time under another name
        put_file(src, f"moved/m{seed}-{i}.jpg", f"moved {seed} {i}" * 7, age_s=900)
        put_file(dst, f"old/m{seed}-{i}.jpg", f"moved {seed} {i}" * 7, age_s=900)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_trees_match_rsync(tmp_path: Path, seed: int) -> None:
    # Given generated trees
    src, dst = tmp_path / "src", tmp_path / "dst"
    random_trees(src, dst, seed)
    # When both plan, Then they agree file for file
    plan = plan_mirror(src, LocalDestination(dst), MirrorRules(), max_delete=1000,
                       max_delete_share=1.0)
    rsync = rsync_itemize(src, dst, "--update")
    assert {a.rel_path for a in plan.copies} | {a.rel_path for a in plan.renames} == rsync["new"]
    assert {a.rel_path for a in plan.updates} == rsync["update"]
    assert {a.rel_path for a in plan.deletes} | {a.old_path for a in plan.renames} == \
        rsync["delete"]
    assert len(plan.renames) == 3
    kept_newer = {a.rel_path for a in plan.skipped if "newer" in a.reason}
    assert kept_newer == rsync_itemize(src, dst)["update"] - rsync["update"]
