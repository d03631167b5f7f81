"""`StubCompressor`: a `Compressor` for the unit tests of the code that calls one (a flow's
compress step), with no Pillow decode and no ffmpeg: it records every call and writes a
"compressed" copy that is the first part of the original's bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.compress.options import CompressOptions, CompressResult, skipped
from shared.errors import CompressFailed
from shared.media import MEDIA_EXTENSIONS, VIDEO_EXTENSIONS


@dataclass
class StubCompressor:
    """`ratio`: the copy's size as a fraction of the original's. A file named in `failing`
    raises CompressFailed (nothing written), one in `skipping` comes back "skipped"; files
    that are not media are skipped, as the real one does."""

    ratio: float = 0.5
    failing: set[str] = field(default_factory=set)
    skipping: set[str] = field(default_factory=set)
    calls: list[tuple[Path, Path, CompressOptions]] = field(default_factory=list)

    def compress(self, src: Path, dest_dir: Path, options: CompressOptions) -> CompressResult:
        self.calls.append((src, dest_dir, options))
        data = src.read_bytes()
        ext = src.suffix.lower().lstrip(".")
        if src.name in self.failing:
            raise CompressFailed(f"{src}: the stub was told to fail it")
        if src.name in self.skipping or ext not in MEDIA_EXTENSIONS:
            return skipped(src, len(data), "the stub skips it")
        dest_dir.mkdir(parents=True, exist_ok=True)
        final = dest_dir / src.name
        if final.exists():
            raise CompressFailed(f"{src}: {final} is already a file")
        final.write_bytes(data[: int(len(data) * self.ratio)])
        kind = "video" if ext in VIDEO_EXTENSIONS else "image"
        size = final.stat().st_size
        return CompressResult(final, size, len(data), kind, "stub copy")
