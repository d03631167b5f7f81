"""`[flows.NAME]` tables: ordered steps that carry the files of one folder (or source) through
libraries and folders, such as the Pixel relay (deliver to the phone in batches of 5, archive on
the NAS, compress, release for deletion from iCloud, clean up).

```toml
[flows.relay]
from = "~/icloud-download"            # or source = "icloud": that source's folder
[[flows.relay.steps]]
kind = "deliver"                      # place in a library, in batches; Syncthing confirms each
library = "pixel"
batch = 5
timeout = "10m"
[[flows.relay.steps]]
kind = "archive"                      # a verified copy; the file stays where it is
library = "nas"                       # or to = "/mnt/nas/archive"
```

Every destination folder is checked when a step runs, not here: a NAS that is not mounted holds
the flow with the reason instead of stopping every command from loading the configuration.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config.sections import LibraryConfig, SourceConfig
from shared.config.tables import Table, parse_duration, table_at, toml_text
from shared.errors import ConfigError
from shared.media import MEDIA_EXTENSIONS

STEP_KINDS = ("deliver", "archive", "move", "release", "compress", "cleanup")
IMAGE_FORMATS = ("keep", "heic", "jpeg")
VIDEO_CODECS = ("libx265", "libx264")  # what shared/compress encodes with
DEFAULT_PATTERNS = ("*.tmp", "*.part", ".mediacourier-*")
# Steps that leave a copy of the file somewhere else, proven by reading it back (and, for a
# Syncthing library, by the device): only after one of them may a step release the file.
SAFE_COPIES = ("deliver", "archive")


@dataclass(frozen=True)
class FlowStep:
    kind: str
    number: int  # 1-based, as `mediacourier flow NAME --start K` counts
    library: str = ""  # deliver, archive
    to: Path | None = None  # archive (instead of a library), move, release, compress
    batch: int = 0  # deliver: files per batch (0: all at once)
    timeout_seconds: float = 0.0  # deliver: 0 = the library's [syncthing.X] timeout
    folder: Path | None = None  # cleanup
    older_than_seconds: float = 86400.0  # cleanup
    patterns: tuple[str, ...] = DEFAULT_PATTERNS  # cleanup
    image_quality: int = 80  # compress
    image_format: str = "keep"
    video_crf: int = 28
    video_codec: str = "libx265"

    @property
    def label(self) -> str:
        return f"{self.number} {self.kind}"


@dataclass(frozen=True)
class FlowConfig:
    name: str
    from_path: Path
    steps: tuple[FlowStep, ...]
    source: str = ""  # the [sources.X] whose folder `from_path` is, when given that way


def parse_flows(raw: Any, base: Path, name: str,
                sources: Mapping[str, SourceConfig]) -> dict[str, FlowConfig]:
    """All `[flows.*]` tables of the file `name` (relative folders are relative to `base`)."""
    top = Table(raw, table_at(name, "flows"))
    return {key: _flow(key, top.get(key, None, dict), base, name, sources) for key in raw}


def _folder(value: str, base: Path) -> Path:
    return Path(os.path.abspath(base / os.path.expanduser(value)))


def _flow(key: str, data: Any, base: Path, name: str,
          sources: Mapping[str, SourceConfig]) -> FlowConfig:
    where = table_at(name, f"flows.{key}")
    table = Table(data, where)
    source = table.get("source", "", str)
    start = table.get("from", "", str)
    if bool(source) == bool(start):
        raise ConfigError(f"{where}: give exactly one of 'source' or 'from'")
    if source and source not in sources:
        raise ConfigError(f"{table.at('source')}: no [sources.{source}] table")
    steps_raw = table.get("steps", None, list)
    if not steps_raw:
        raise ConfigError(f"{table.at('steps')}: list at least one step "
                          "([[flows." + key + ".steps]])")
    steps = tuple(_step(key, i, item, base, name) for i, item in enumerate(steps_raw))
    table.finish()
    _check_order(steps, key, name)
    from_path = sources[source].path if source else _folder(start, base)
    return FlowConfig(name=key, from_path=from_path, steps=steps, source=source)


def _kind(table: Table) -> str:
    kind = table.get("kind", None, str)
    if kind is None:
        raise ConfigError(f"{table.at('kind')}: required, one of {', '.join(STEP_KINDS)}")
    if kind not in STEP_KINDS:
        close = difflib.get_close_matches(kind, STEP_KINDS, n=1, cutoff=0.6)
        hint = f"; did you mean {toml_text(close[0])}?" if close else ""
        raise ConfigError(f"{table.at('kind')}: {toml_text(kind)} is not one of "
                          f"{', '.join(STEP_KINDS)}{hint}")
    return kind


def _step(flow: str, index: int, data: Any, base: Path, name: str) -> FlowStep:
    table = Table(data, table_at(name, f"flows.{flow}.steps[{index}]"))
    kind = _kind(table)
    step = FlowStep(kind=kind, number=index + 1)
    if kind in ("deliver", "archive"):
        library = table.get("library", "", str)
        to = table.get("to", "", str) if kind == "archive" else ""
        if kind == "deliver" and not library:
            raise ConfigError(f"{table.at('library')}: required: the library to deliver to")
        if kind == "archive" and bool(library) == bool(to):
            raise ConfigError(f"{table.where}: give exactly one of 'library' or 'to'")
        step = _replace(step, library=library, to=_folder(to, base) if to else None)
    if kind == "deliver":
        timeout = table.get("timeout", None)
        step = _replace(step, batch=table.get("batch", 0, int, low=0),
                        timeout_seconds=0.0 if timeout is None else
                        parse_duration(timeout, table.at("timeout"), positive=True))
    if kind in ("move", "release", "compress"):
        to = table.get("to", "", str)
        if not to:
            raise ConfigError(f"{table.at('to')}: required: the folder the files go to")
        step = _replace(step, to=_folder(to, base))
    if kind == "compress":
        step = _replace(step, image_quality=table.get("image_quality", 80, int, 1, 100),
                        image_format=table.choice("image_format", "keep", IMAGE_FORMATS),
                        video_crf=table.get("video_crf", 28, int, 0, 51),
                        video_codec=table.choice("video_codec", "libx265", VIDEO_CODECS))
    if kind == "cleanup":
        folder = table.get("folder", "", str)
        if not folder:
            raise ConfigError(f"{table.at('folder')}: required: the folder to clean up")
        patterns = table.strings("patterns") or DEFAULT_PATTERNS
        _check_patterns(patterns, table.at("patterns"))
        step = _replace(step, folder=_folder(folder, base), patterns=patterns,
                        older_than_seconds=parse_duration(table.get("older_than", "24h"),
                                                          table.at("older_than")))
    table.finish()
    return step


def _replace(step: FlowStep, **changes: Any) -> FlowStep:
    return FlowStep(**{**step.__dict__, **changes})


def _check_patterns(patterns: tuple[str, ...], where: str) -> None:
    """A cleanup removes temp and stale files only: a pattern that matches a photo or a video
    (`*`, `*.jpg`) would delete what the flow exists to keep."""
    for pattern in patterns:
        for ext in sorted(MEDIA_EXTENSIONS):
            for name in (f"IMG_0001.{ext}", f"IMG_0001.{ext.upper()}"):
                if fnmatch.fnmatchcase(name, pattern):
                    raise ConfigError(f"{where}: {toml_text(pattern)} matches media files such "
                                      f"as {name!r}: a cleanup removes temp files only")


def _check_order(steps: tuple[FlowStep, ...], flow: str, name: str) -> None:
    """A release hands a file over for deletion elsewhere (iCloud): an earlier step must have
    put a proven copy somewhere first."""
    for step in steps:
        if step.kind == "release" and not any(s.kind in SAFE_COPIES for s in
                                               steps[: step.number - 1]):
            raise ConfigError(f"{table_at(name, f'flows.{flow}.steps[{step.number - 1}]')} "
                              "kind: \"release\" needs an earlier deliver or archive step: "
                              "nothing else proves the file is safe elsewhere")


def check_flows(flows: Mapping[str, FlowConfig], libraries: Mapping[str, LibraryConfig],
                name: str) -> None:
    """Every library a step names exists and is a folder on this machine, except an archive
    step's, which may be on a target (a verified copy over SSH; check_library_targets checks
    that the target is one a library can live on)."""
    for flow in flows.values():
        for step in flow.steps:
            if not step.library:
                continue
            where = f"{table_at(name, f'flows.{flow.name}.steps[{step.number - 1}]')} library"
            library = libraries.get(step.library)
            if library is None:
                raise ConfigError(f"{where}: no [libraries.{step.library}] table")
            if library.target and step.kind != "archive":
                raise ConfigError(f"{where}: library {step.library!r} is on target "
                                  f"{library.target!r}; a {step.kind} step writes to folders "
                                  "of this machine only (an archive step may copy to a "
                                  "library on an SSH target)")
