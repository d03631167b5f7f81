"""names_with_stem: a folder's same-stem names, from one listing while the folder is unchanged."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from shared.ingest import folder_stems
from shared.ingest.folder_stems import names_with_stem


def test_same_stem_names_whatever_their_case_or_extension(tmp_path: Path) -> None:
    # Given a camera folder with a RAW+JPEG pair, a Live Photo pair and others
    for name in ("IMG_1.CR3", "IMG_1.JPG", "img_2.heic", "IMG_2.MOV", "IMG_10.JPG", "IMG_1.x"):
        (tmp_path / name).write_bytes(b"x")
    # Then each stem's names are found, case aside
    assert sorted(names_with_stem(str(tmp_path), "img_1")) == ["IMG_1.CR3", "IMG_1.JPG", "IMG_1.x"]
    assert sorted(names_with_stem(str(tmp_path), "img_2")) == ["IMG_2.MOV", "img_2.heic"]
    assert names_with_stem(str(tmp_path / "gone"), "img_1") == ()


def test_a_folder_is_listed_once_until_it_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a folder of 2,000 photos and a count of its listings
    for i in range(2000):
        (tmp_path / f"IMG_{i:04d}.JPG").write_bytes(b"x")
    settled = time.time_ns() - 1_000_000_000  # the card was copied a second ago
    os.utime(tmp_path, ns=(settled, settled))
    listings: list[str] = []
    real = os.listdir

    def counting(path):  # noqa: ANN001, ANN202
        listings.append(path)
        return real(path)

    monkeypatch.setattr(folder_stems.os, "listdir", counting)
    # When every photo asks for its mates, Then the folder was listed once
    for i in range(2000):
        assert names_with_stem(str(tmp_path), f"img_{i:04d}") == (f"IMG_{i:04d}.JPG",)
    assert len(listings) == 1
    # When a mate arrives (the folder's mtime moves), Then it is seen at once
    (tmp_path / "IMG_0007.MOV").write_bytes(b"v")
    os.utime(tmp_path, ns=(settled + 1_000_000, settled + 1_000_000))
    assert sorted(names_with_stem(str(tmp_path), "img_0007")) == ["IMG_0007.JPG", "IMG_0007.MOV"]
    assert len(listings) == 2


def test_a_listing_within_a_clock_tick_of_a_change_is_not_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a folder changed just now (a second file may land in the same clock tick)
    (tmp_path / "IMG_1.HEIC").write_bytes(b"x")
    listings: list[str] = []
    real = os.listdir
    monkeypatch.setattr(folder_stems.os, "listdir", lambda p: listings.append(p) or real(p))
    # When its mates are asked for twice, Then it is listed each time
    names_with_stem(str(tmp_path), "img_1")
    names_with_stem(str(tmp_path), "img_1")
    assert len(listings) == 2
