"""`mediacourier trace`: one file's journey, read from a real Redis after real stages ran."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from shared.errors import ConfigError
from shared.ingest import STAGES
from tests.shared.rig import Rig, make_rig  # noqa: F401 - the fixture
from workers.trace import print_trace

PHOTO = b"\xff\xd8\xff\xe0 a photo " * 500


def trace(rig: Rig, what: str) -> str:
    out = io.StringIO()
    print_trace(rig.ctx.settings, rig.store, what, Console(file=out, width=250))
    return out.getvalue()


@pytest.fixture
def two_copies(make_rig) -> Rig:  # noqa: F811 - the fixture imported above
    # Given a photo and an identical copy of it under another name, both carried by the stages
    rig = make_rig(mode="copy")
    rig.put("2024/IMG_1.jpg", PHOTO)
    rig.put("later/IMG_1 copy.jpg", PHOTO)
    assert str(rig.ingest("2024/IMG_1.jpg").outcome) == "ingested"
    assert str(rig.ingest("later/IMG_1 copy.jpg").outcome) == "duplicate"
    return rig


def test_trace_by_name_shows_every_stage_with_host_and_time_and_where_it_is(
        two_copies: Rig) -> None:
    # When the photo is traced by its name
    out = trace(two_copies, "IMG_1.jpg")

    # Then it shows the file, its outcome and each stage with its host and its duration
    assert "cam/2024/IMG_1.jpg" in out and f"{len(PHOTO):,} bytes" in out
    assert "ingested -> lib/2024/IMG_1.jpg" in out
    for name, _ in STAGES[:-1]:  # the last one, record_outcome, journals before it ends
        row = re.search(rf"^\s+{name}\s+test-host\s+(\d+\.\d{{3}}) s$", out, re.M)
        assert row, f"no timed row for {name} in:\n{out}"
    assert re.search(r"^\s+record_outcome\s+test-host\s+-$", out, re.M), out
    # where it is now (the library file exists), and its duplicate under the other name
    assert f"now: ingested: {two_copies.lib / '2024' / 'IMG_1.jpg'} (still in the source)" in out
    assert "duplicates: cam/later/IMG_1 copy.jpg (duplicate)" in out


def test_trace_by_sha_prefix_finds_both_copies(two_copies: Rig) -> None:
    # Given the content's sha256, as the record holds it
    sha = two_copies.store.get_record("cam", "2024/IMG_1.jpg").sha256

    # When traced by its first 12 hex digits
    out = trace(two_copies, sha[:12])

    # Then both source files are shown, the copy as a duplicate of the library file
    assert "cam/2024/IMG_1.jpg" in out and "cam/later/IMG_1 copy.jpg" in out
    assert "duplicate of lib/2024/IMG_1.jpg: duplicate: left in place" in out
    assert f"now: a duplicate of {two_copies.lib / '2024' / 'IMG_1.jpg'}" in out


def test_trace_by_library_path_finds_the_source_file(two_copies: Rig) -> None:
    # When traced by the path of the file in the library
    out = trace(two_copies, str(two_copies.lib / "2024" / "IMG_1.jpg"))

    # Then it is the original source file's journey
    assert out.splitlines()[0].startswith("cam/2024/IMG_1.jpg")


def test_trace_of_a_failed_file_says_why_and_that_it_is_still_in_the_source(make_rig) -> None:  # noqa: F811
    # Given a file that vanished between being listed and being hashed
    rig = make_rig(mode="move")
    rig.put("gone.jpg", PHOTO).unlink()
    assert str(rig.ingest("gone.jpg").outcome) == "failed"

    # When it is traced by its source path
    out = trace(rig, str(rig.src / "gone.jpg"))

    # Then it shows the failure with its reason
    assert "cam/gone.jpg" in out and "failed:" in out


def test_trace_of_an_unknown_file_is_one_clear_error(two_copies: Rig) -> None:
    # When a name nobody has seen is traced; Then the error names it and the sources searched
    with pytest.raises(ConfigError, match="no file matches 'nope.jpg' in the records or the "
                                          "journal of cam"):
        trace(two_copies, "nope.jpg")
