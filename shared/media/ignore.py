"""Which source paths are media worth carrying, and which are clutter to leave alone.

Clutter is what phones, sync tools, NAS boxes and operating systems leave beside real files:
half-finished downloads, thumbnails caches, recycle bins. Those are never carried, whatever the
user's include patterns say, because moving a half-written `.part` file loses data.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

# fmt: off
MEDIA_EXTENSIONS: frozenset[str] = frozenset(
    {
        # Pictures.
        "jpg", "jpeg", "png", "heic", "heif", "gif", "webp", "tif", "tiff", "bmp", "avif", "jxl",
        # Camera raw formats.
        "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "orf", "rw2", "pef",
        "srw", "x3f", "3fr", "iiq", "erf", "kdc", "mrw", "rwl",
        # Video.
        "mp4", "mov", "m4v", "avi", "mkv", "3gp", "3g2", "mts", "m2ts", "mpg", "mpeg", "wmv",
        "webm",
    }
)
# fmt: on
SIDECAR_EXTENSIONS: frozenset[str] = frozenset({"xmp", "aae", "json"})

# Suffixes of files still being written by browsers, sync clients and editors.
TEMPORARY_SUFFIXES: tuple[str, ...] = (
    ".part",
    "~",
    ".tmp",
    ".crdownload",
    ".partial",
    ".download",
)
# Compared lower-cased: Windows and SMB shares treat these names case-insensitively.
CLUTTER_FILES: frozenset[str] = frozenset({".ds_store", "thumbs.db", "desktop.ini", ".nomedia"})
CLUTTER_DIRS: frozenset[str] = frozenset(
    {
        "@eadir",  # Synology thumbnails
        ".stfolder",  # Syncthing marker
        ".stversions",  # Syncthing old versions
        "#recycle",  # Synology recycle bin
        "#snapshot",  # Synology snapshots
        ".@__thumb",  # QNAP thumbnails
        "$recycle.bin",  # Windows recycle bin
        "system volume information",  # Windows, on every camera card
        "lost+found",  # fsck leftovers
    }
)


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot + 1 :].lower() if dot > 0 else ""


def is_media(name: str) -> bool:
    """True if the file name has a photo, raw or video extension (any case)."""
    return _extension(name) in MEDIA_EXTENSIONS


def is_sidecar(name: str) -> bool:
    """True if the file name has a sidecar extension (XMP, Apple AAE, Google Takeout JSON)."""
    return _extension(name) in SIDECAR_EXTENSIONS


def clutter_file_reason(name: str) -> str | None:
    """Why a bare file name is clutter, or None. Cheap: called once per file in a walk."""
    if name.startswith("."):
        if name.lower() in CLUTTER_FILES:
            return f"system file {name}"
        if name.startswith(".syncthing.") or name.startswith(".ocTransferId"):
            return "sync client temporary file"
        return "hidden file"
    lower = name.lower()
    if lower.endswith(TEMPORARY_SUFFIXES):
        if lower.startswith("~syncthing~"):
            return "sync client temporary file"
        suffix = next(s for s in TEMPORARY_SUFFIXES if lower.endswith(s))
        return f"file still being written ({suffix})"
    if lower in CLUTTER_FILES:
        return f"system file {name}"
    return None


def clutter_dir_reason(name: str) -> str | None:
    """Why a bare folder name is clutter, or None."""
    if name.lower() in CLUTTER_DIRS:
        return f"system folder {name}"
    if name.startswith("."):
        return f"hidden folder {name}"
    return None


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    # Case-insensitive: cameras write IMG_0001.JPG, and users write '*.jpg' in their config.
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(p) for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class IgnoreRules:
    """Clutter rules plus the user's include/exclude globs for one source.

    Globs are fnmatch patterns matched, case-insensitively, against both the posix path
    relative to the source root and the bare name; `*` also matches '/'. Excludes win over
    everything; includes add files that are neither media nor sidecars.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _include_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _exclude_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include_re", _compile(tuple(self.include)))
        object.__setattr__(self, "_exclude_re", _compile(tuple(self.exclude)))

    def _excluded(self, name: str, rel_path: str) -> bool:
        pattern = self._exclude_re
        return pattern is not None and (
            pattern.match(name) is not None or pattern.match(rel_path) is not None
        )

    def prunes_dir(self, name: str, rel_path: str = "") -> bool:
        """True for a folder the walker and watcher must not descend into.

        `rel_path`, when given, is the folder's path relative to the source root, so an
        exclude such as 'Camera/Trash' can prune it too.
        """
        return clutter_dir_reason(name) is not None or self._excluded(name, rel_path or name)

    def prunes_path(self, rel_dir: str) -> bool:
        """True if the folder at this posix path, or any folder above it, is pruned."""
        parts = rel_dir.strip("/").split("/")
        return any(
            self.prunes_dir(part, "/".join(parts[: depth + 1])) for depth, part in enumerate(parts)
        )

    def accepts_file(self, rel_path: str, name: str) -> bool:
        """`accepts` for a file whose parent folders are already known not to be pruned."""
        if clutter_file_reason(name) is not None or self._excluded(name, rel_path):
            return False
        ext = _extension(name)
        if ext in MEDIA_EXTENSIONS or ext in SIDECAR_EXTENSIONS:
            return True
        pattern = self._include_re
        return pattern is not None and (
            pattern.match(name) is not None or pattern.match(rel_path) is not None
        )

    def accepts(self, rel_path: str) -> bool:
        """True if the file at this posix path relative to the source root should be carried."""
        return self.reason(rel_path) is None

    def reason(self, rel_path: str) -> str | None:
        """A short human reason why this path is ignored (for logs), or None if it is accepted."""
        parts = rel_path.split("/")
        if not rel_path or "" in parts or ".." in parts:
            return f"not a relative file path: {rel_path!r}"
        for depth, part in enumerate(parts[:-1]):
            why = clutter_dir_reason(part)
            if why is not None:
                return why
            if self._excluded(part, "/".join(parts[: depth + 1])):
                return f"folder {part} matches an exclude pattern"
        name = parts[-1]
        why = clutter_file_reason(name)
        if why is not None:
            return why
        if self._excluded(name, rel_path):
            return "matches an exclude pattern"
        if self.accepts_file(rel_path, name):
            return None
        return "not a photo, video or sidecar, and no include pattern matches"
