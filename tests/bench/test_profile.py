"""bench.profile's report of py-spy's folded stacks (the py-spy run itself is `python -m
bench.profile CASE`; this checks the arithmetic on stacks of the shape py-spy writes)."""

from __future__ import annotations

from bench.procs import REPO
from bench.profile import summarise

FOLDED = "\n".join([
    # the sync process, waiting in C for its pool: labels only
    'process 10:"mediacourier sync src" 20',
    # a pool child copying a file, then recording it
    'process 10:"mediacourier sync src";process 11:"mediacourier sync src";'
    f"run_batch ({REPO}/shared/ingest/batch.py:40);"
    f"copy_into ({REPO}/shared/transfer/staging.py:59) 60",
    'process 10:"mediacourier sync src";process 11:"mediacourier sync src";'
    f"run_batch ({REPO}/shared/ingest/batch.py:41);"
    "read_from_socket (/v/lib/site-packages/redis/_parsers/hiredis.py:192) 20",
])


def test_own_samples_by_line_and_stages_by_function() -> None:
    # Given stacks of two processes, one with no Python frame
    # When they are summarised
    report = summarise(FOLDED, top=5)
    # Then the total and the waiting share come first
    assert report[0] == "100 samples; 20.0% in a process with no Python frame (waiting in C)"
    # … a leaf's samples count for its line, with the path made relative
    assert "   60.0%  copy_into (shared/transfer/staging.py:59)" in report
    assert "   20.0%  read_from_socket (redis/_parsers/hiredis.py:192)" in report
    # … and a stage of ours counts every sample under it, whichever of its lines called
    assert "   80.0%  run_batch (shared/ingest/batch.py)" in report


def test_the_latency_profile_is_the_median_of_each_stage_of_the_dropped_files() -> None:
    from bench.latency import stage_medians

    # Given journal entries: two dropped files ingested, one other file, one duplicate
    entries = [
        {"event": "ingested", "path": "d/LAT_000.jpg", "timings": '{"hash_file": 0.1, "x": 1}'},
        {"event": "ingested", "path": "d/LAT_001.jpg", "timings": '{"hash_file": 0.3, "x": 3}'},
        {"event": "ingested", "path": "other.jpg", "timings": '{"hash_file": 9}'},
        {"event": "duplicate", "path": "d/LAT_000.jpg", "timings": '{"hash_file": 9}'},
    ]
    # When the stage medians of the dropped files are taken
    medians = stage_medians(entries, {"d/LAT_000.jpg", "d/LAT_001.jpg"})
    # Then each stage's median comes from those files' ingested entries only
    assert medians == {"hash_file": 0.2, "x": 2.0}
