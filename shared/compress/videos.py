"""Videos: probe with ffprobe, re-encode with Debian's ffmpeg (H.265 at a CRF by default) with
the container's metadata (QuickTime creation_time, Apple's keys) kept, and check the copy:
same shown dimensions, the same duration, and a video stream that decodes at both ends."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.compress.options import CompressOptions
from shared.errors import CompressFailed
from shared.executors import CommandExecutor, LocalExecutor

PROBE_TIMEOUT = 60.0
DECODE_TIMEOUT = 120.0
CHECK_FRAMES = 48  # decoded at the start; the last second is decoded too (a cut-off end)
DURATION_SLACK_S, DURATION_SLACK_FRACTION = 0.5, 0.02
# x265 at its medium preset manages a few frames a second of 4K on two cores: generous, so a
# long video on a busy machine is not cut off, yet a hung ffmpeg does not hold a worker forever.
ENCODE_TIMEOUT_BASE_S, ENCODE_TIMEOUT_PER_S = 600.0, 40.0
CODEC_TAG = {"libx265": "hvc1", "libx264": "avc1"}  # hvc1: what Apple's players accept for HEVC


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as shown: a rotation in the display matrix swaps the stored sides
    height: int
    duration: float
    video_codec: str
    audio_codecs: tuple[str, ...]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CompressFailed(f"{name} is not installed (Debian package ffmpeg): "
                             "videos cannot be compressed")
    return path


def video_tools(executor: CommandExecutor | None = None) -> str:
    """For `mediacourier doctor`: ffmpeg's version and where ffmpeg and ffprobe are;
    CompressFailed naming the one that is missing or does not run."""
    ffmpeg, ffprobe = tool("ffmpeg"), tool("ffprobe")
    done = (executor or LocalExecutor()).run((ffmpeg, "-hide_banner", "-version"), timeout=30)
    first = done.stdout.splitlines()[:1]
    if not done.ok or not first:
        raise CompressFailed(f"{ffmpeg} -version failed: {done.stderr.strip() or done.exit_code}")
    version = first[0].split()[2] if len(first[0].split()) > 2 else first[0]
    return f"ffmpeg {version} ({ffmpeg}, {ffprobe})"


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or ():
        if "rotation" in side:
            return int(float(side["rotation"]))
    return int(float((stream.get("tags") or {}).get("rotate", 0)))


def probe(path: Path, executor: CommandExecutor | None = None) -> VideoInfo:
    """The shown size, duration and codecs of `path`; CompressFailed when ffprobe cannot read
    it or it holds no video stream."""
    run = executor or LocalExecutor()
    done = run.run((tool("ffprobe"), "-v", "error", "-print_format", "json", "-show_format",
                    "-show_streams", str(path)), timeout=PROBE_TIMEOUT)
    if not done.ok:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.exit_code}"]
        raise CompressFailed(f"{path}: ffprobe cannot read it: {reason[0]}")
    try:
        found = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise CompressFailed(f"{path}: ffprobe's answer is not JSON: {exc}") from exc
    streams = found.get("streams") or []
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    if not videos:
        raise CompressFailed(f"{path}: no video stream")
    video = videos[0]
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if _rotation(video) % 180:
        width, height = height, width
    duration = float((found.get("format") or {}).get("duration") or video.get("duration") or 0)
    audio = tuple(str(s.get("codec_name")) for s in streams if s.get("codec_type") == "audio")
    return VideoInfo(width, height, duration, str(video.get("codec_name")), audio)


def encode_command(src: Path, info: VideoInfo, temp: Path,
                   options: CompressOptions) -> tuple[str, ...]:
    # AAC already is what MP4/MOV players expect: copied as it is, anything else becomes AAC.
    audio = "copy" if info.audio_codecs and set(info.audio_codecs) == {"aac"} else "aac"
    codec_params = ("-x265-params", "log-level=error") if options.video_codec == "libx265" else ()
    return (
        tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(src),
        # The main picture and every audio track; a cover picture or data track is not carried.
        "-map", "0:V:0", "-map", "0:a?",
        # The container's tags (creation_time, Apple's com.apple.quicktime.* keys) and each
        # stream's; use_metadata_tags writes them as QuickTime keys, which ExifTool reads.
        "-map_metadata", "0",
        "-c:v", options.video_codec, "-crf", str(options.video_crf), *codec_params,
        "-tag:v", CODEC_TAG[options.video_codec], "-c:a", audio,
        "-movflags", "use_metadata_tags+faststart",
        "-f", "mov" if temp.suffix.lower() == ".mov" else "mp4", str(temp),
    )


def encode_video(src: Path, info: VideoInfo, temp: Path, options: CompressOptions,
                 executor: CommandExecutor | None = None) -> None:
    run = executor or LocalExecutor()
    timeout = ENCODE_TIMEOUT_BASE_S + ENCODE_TIMEOUT_PER_S * info.duration
    done = run.run(encode_command(src, info, temp, options), timeout=timeout)
    if not done.ok:
        lines = done.stderr.strip().splitlines()
        raise CompressFailed(f"{src}: ffmpeg failed: {lines[-1] if lines else done.exit_code}")


def _decode_errors(path: Path, executor: CommandExecutor, *position: str) -> str:
    done = executor.run((tool("ffmpeg"), "-nostdin", "-v", "error", "-xerror", *position,
                         "-i", str(path), "-map", "0:V:0", "-frames:v", str(CHECK_FRAMES),
                         "-f", "null", "-"), timeout=DECODE_TIMEOUT)
    if done.ok and not done.stderr.strip():
        return ""
    return (done.stderr.strip().splitlines() or [f"exit code {done.exit_code}"])[0]


def check_video(src: Path, original: VideoInfo, result: Path,
                executor: CommandExecutor | None = None) -> VideoInfo:
    """CompressFailed unless `result` shows the original's dimensions, lasts as long (within
    0.5 s or 2 %) and its video decodes at the start and in the last second."""
    run = executor or LocalExecutor()
    copy = probe(result, run)
    if (copy.width, copy.height) != (original.width, original.height):
        raise CompressFailed(f"{src}: the compressed copy is {copy.width}x{copy.height}, the "
                             f"original {original.width}x{original.height}")
    slack = max(DURATION_SLACK_S, DURATION_SLACK_FRACTION * original.duration)
    if abs(copy.duration - original.duration) > slack:
        raise CompressFailed(f"{src}: the compressed copy lasts {copy.duration:.2f} s, the "
                             f"original {original.duration:.2f} s")
    for where in ((), ("-sseof", "-1")):
        error = _decode_errors(result, run, *where)
        if error:
            at = "its last second" if where else "its start"
            raise CompressFailed(f"{src}: the compressed copy does not decode at {at}: {error}")
    return copy
