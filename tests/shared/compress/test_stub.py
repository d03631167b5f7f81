"""The StubCompressor that flows' unit tests swap in: it answers like the real one (a smaller
copy in the destination, skipped for what is not media, CompressFailed when told to) and
records what it was asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.compress import CompressOptions, Compressor, StubCompressor
from shared.errors import CompressFailed


def test_the_stub_writes_a_smaller_copy_skips_and_fails_as_told(tmp_path: Path) -> None:
    # Given a photo, a video, a text file and one the stub is told to fail
    names = {"a.jpg": b"j" * 100, "b.mov": b"m" * 100, "c.txt": b"t" * 100, "d.jpg": b"d" * 100}
    for name, data in names.items():
        (tmp_path / name).write_bytes(data)
    stub = StubCompressor(ratio=0.25, failing={"d.jpg"})
    compressor: Compressor = stub  # the Protocol a flow takes
    options = CompressOptions()
    # When each is compressed
    photo = compressor.compress(tmp_path / "a.jpg", tmp_path / "out", options)
    video = compressor.compress(tmp_path / "b.mov", tmp_path / "out", options)
    other = compressor.compress(tmp_path / "c.txt", tmp_path / "out", options)
    with pytest.raises(CompressFailed, match="d.jpg"):
        compressor.compress(tmp_path / "d.jpg", tmp_path / "out", options)
    # Then the media got quarter-size copies, the text file was skipped, all four recorded
    assert (photo.kind, photo.size, photo.original_size) == ("image", 25, 100)
    assert (tmp_path / "out" / "a.jpg").read_bytes() == b"j" * 25
    assert (video.kind, video.path) == ("video", tmp_path / "out" / "b.mov")
    assert (other.kind, other.path) == ("skipped", tmp_path / "c.txt")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "b.mov"]
    assert [src.name for src, _, _ in stub.calls] == ["a.jpg", "b.mov", "c.txt", "d.jpg"]
