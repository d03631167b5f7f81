"""The soak's own checks, without services: the plans it draws from a seed, the library read back
as contents, the sampler that catches a source gone before its copy, and a report that fails
when a file is lost or doubled (a soak whose checks cannot fail proves nothing)."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from pathlib import Path

from bench.faults import KINDS, plan_faults
from bench.soak_files import Arrivals, LibraryIndex, content_bytes, plan_files, source_present
from bench.soak_report import Report, compare
from bench.soak_sampler import Sampler
from shared.media import is_sidecar
from shared.transfer import QUARANTINE_DIR, TMP_PREFIX


def test_the_same_seed_gives_the_same_files_and_faults() -> None:
    # Given two plans from seed 7 and one from seed 8
    first, again, other = (plan_files(200, 60, s) for s in (7, 7, 8))
    # Then seed 7 twice is the same plan, byte for byte, and seed 8 another
    assert first == again
    assert [content_bytes(f, 7) for f in first[:30]] == [content_bytes(f, 7) for f in again[:30]]
    assert first != other
    assert plan_faults(20, 7) == plan_faults(20, 7) != plan_faults(20, 8)


def test_the_plan_mixes_duplicates_sidecars_sizes_and_folders() -> None:
    # Given the plan of 300 files over 60 s
    planned = plan_files(300, 60, 11)
    by_rel = {f.rel: f for f in planned}
    sidecars = [f for f in planned if is_sidecar(f.rel)]
    media = [f for f in planned if not is_sidecar(f.rel)]
    # Then about 10 % are sidecars beside an image of the plan, arriving after it
    assert len(sidecars) == 30
    for sidecar in sidecars:
        image = by_rel[sidecar.sidecar_of]
        assert sidecar.rel.rsplit(".", 1)[0] == image.rel.rsplit(".", 1)[0]
        assert sidecar.arrive_at >= image.arrive_at
    # … 10 % of the media repeat another's content (same bytes), every sidecar is unique
    digests = Counter(hashlib.sha256(content_bytes(f, 11)).hexdigest() for f in planned)
    assert len(media) - len({f.content for f in media}) == 30
    assert sum(n - 1 for n in digests.values()) == 30
    # … sizes run from 1 KB to a few MB, in nested folders, all within the window
    assert min(f.size for f in planned) >= 1024 and max(f.size for f in media) > 2 ** 21
    assert any(f.rel.count("/") >= 3 for f in planned)
    assert len(planned) == len(by_rel) == 300
    assert all(0 <= f.arrive_at <= 60 for f in planned)


def test_every_fault_kind_comes_at_least_once_with_thresholds_in_order() -> None:
    # Given a plan of 20 faults
    faults = plan_faults(20, 11)
    # Then every kind is there, and the progress thresholds rise through the work
    assert set(KINDS) <= {f.kind for f in faults}
    thresholds = [f.threshold for f in faults]
    assert thresholds == sorted(thresholds) and thresholds[0] > 0 and thresholds[-1] < 1


def test_the_library_index_counts_contents_and_names_temps(tmp_path: Path) -> None:
    # Given a library with a file twice (two names), a temp file and a quarantined copy
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"same")
    (tmp_path / "y.jpg").write_bytes(b"same")
    (tmp_path / "a" / f"{TMP_PREFIX}123.tmp").write_bytes(b"partial")
    (tmp_path / QUARANTINE_DIR).mkdir()
    (tmp_path / QUARANTINE_DIR / "z.jpg").write_bytes(b"bad")
    # When it is scanned
    contents, temps, quarantined = LibraryIndex(tmp_path).scan()
    # Then the content counts twice, the temp and the quarantined copy are named apart
    assert contents == Counter({hashlib.sha256(b"same").hexdigest(): 2})
    assert temps == [f"a/{TMP_PREFIX}123.tmp"]
    assert quarantined == [f"{QUARANTINE_DIR}/z.jpg"]


def test_a_lost_and_a_doubled_file_fail_the_report() -> None:
    # Given three files written; the library lacks one and holds another twice
    sha = {name: hashlib.sha256(name.encode()).hexdigest() for name in "abc"}
    expected = {"a.jpg": sha["a"], "b.jpg": sha["b"], "c.jpg": sha["c"]}
    library = Counter({sha["a"]: 2, sha["b"]: 1, "f" * 64: 1})
    # When they are compared (no source is left)
    lost, doubled, unexpected, unfinished = compare(expected, library, set())
    report = Report(files=3, contents=3, seed=1, lost=lost, doubled=doubled,
                    unexpected=unexpected, unfinished=unfinished, inflight=0, reconciled=True,
                    faults={"pool": 1}, recovery=5.0)
    # Then the report names them and its verdict fails
    assert lost == [f"{sha['c'][:12]} (c.jpg)"]
    assert doubled == {sha["a"]: 1} and unexpected == 1
    assert not report.passed
    assert report.verdict().startswith("FAIL: nothing lost: 1 lost; nothing doubled: 1 doubled")


def test_a_file_still_in_the_source_is_unfinished_not_lost() -> None:
    # Given a file whose copy is missing but whose source is still there
    expected = {"d/a.jpg": "1" * 64}
    # When compared
    lost, _, _, unfinished = compare(expected, Counter(), {"d/a.jpg"})
    # Then it is not lost, but it fails the soak as unfinished
    assert lost == [] and unfinished == ["d/a.jpg"]
    report = Report(files=1, contents=1, seed=1, unfinished=unfinished, inflight=0,
                    reconciled=True, faults={"up": 1}, recovery=None)
    assert not report.passed
    assert "every source gone: 1 still there" in report.verdict()


def test_a_file_without_its_outcome_in_the_journal_fails_the_report() -> None:
    # Given every file in the library, but one never journaled and one journaled twice
    report = Report(files=3, contents=3, seed=1, inflight=0, reconciled=True,
                    faults={"worker": 1}, recovery=5.0, unjournaled=["b.jpg"],
                    journaled_twice=["c.jpg"])
    # Then the history's undercount fails the soak too
    assert not report.passed
    assert "every file journaled once (ingested or duplicate): 1 without an outcome, 1 twice" \
        in report.verdict()
    assert "  no outcome journaled: b.jpg" in report.lines()


def test_the_sampler_catches_a_source_gone_before_its_copy(tmp_path: Path) -> None:
    # Given two files arrived in the source; the library holds the copy of the first only
    planned = plan_files(10, 0.01, 3)[:2]
    arrivals = Arrivals(planned, tmp_path / "inbox", tmp_path / "staging", 3)
    library = tmp_path / "library"
    library.mkdir()
    writer = threading.Thread(target=arrivals.run, args=(threading.Event(),))
    writer.start()
    writer.join()
    first, second = planned
    (library / "copy").write_bytes(content_bytes(first, 3))
    sampler = Sampler(tmp_path, arrivals, 2, "inbox", "library", "mc")
    sampler.sample()
    assert sampler.gone == {} and sampler.inflight is None  # no Redis: nothing counted
    # When both sources leave the source folder
    (tmp_path / "inbox" / first.rel).unlink()
    (tmp_path / "inbox" / second.rel).unlink()
    sampler.sample()
    # Then both are gone, and the one whose content is nowhere is an early release
    assert set(sampler.gone) == {first.rel, second.rel}
    assert [line.split(":")[0] for line in sampler.early] == [second.rel]
    assert source_present(tmp_path / "inbox") == set()
