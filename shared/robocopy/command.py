"""The robocopy command line, built from a frozen options object.

Paths are Windows paths even when this code runs on Linux (tests, or a Linux host that sends
the command to a Windows worker): `PureWindowsPath` semantics, so `\\\\NAS\\share\\photos` (UNC)
and `Z:\\photos` (a mapped drive) both work, and a relative, drive-relative (`Z:photos`) or
POSIX path (`/volume1/photo`) is refused with an error naming the option.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PureWindowsPath

from shared.errors import ConfigError

# Files and folders no photo library wants copied; the mirror job excludes the same names.
DEFAULT_EXCLUDE_FILES = ("Thumbs.db", "desktop.ini", ".DS_Store")
DEFAULT_EXCLUDE_DIRS = ("@eaDir",)
MAX_THREADS = 128


def windows_path(value: str, option: str) -> str:
    """`value` as an absolute Windows path (drive letter or UNC share), or a ConfigError naming
    `option`. A trailing backslash is dropped (it would escape the closing quote of a quoted
    argument), except after a bare drive (`Z:\\`)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{option}: an absolute Windows path is required, got {value!r}")
    if value.startswith("/") and not value.startswith("//"):
        raise ConfigError(f"{option} = {value!r} is a POSIX path; robocopy runs on a Windows "
                          "worker and needs a drive path (Z:\\photos) or a UNC path "
                          "(\\\\NAS\\share\\photos)")
    path = PureWindowsPath(value)
    if not path.drive or not path.root:
        raise ConfigError(f"{option} = {value!r} is not an absolute Windows path; use a drive "
                          "path (Z:\\photos) or a UNC path (\\\\NAS\\share\\photos)")
    if path.drive.startswith("\\\\") and len([p for p in path.drive.split("\\") if p]) < 2:
        raise ConfigError(f"{option} = {value!r}: a UNC path needs a server and a share")
    text = str(path)
    if text.endswith("\\") and len(text) > 3:  # a UNC share root: \\NAS\share\ -> \\NAS\share
        text = text.rstrip("\\")
    return text


@dataclass(frozen=True)
class RobocopyOptions:
    """One robocopy run. Defaults are the safe ones for a NAS: few retries, short waits,
    2-second time granularity, no junctions, sizes in bytes."""

    source: str
    destination: str
    mirror: bool = True  # /MIR: copy the tree and delete destination extras
    exclude_older: bool = True  # /XO: keep destination files newer than the source's
    retries: int = 3  # /R:n (robocopy's own default is a million)
    wait_seconds: int = 5  # /W:n (robocopy's own default is 30)
    threads: int | None = 8  # /MT:n, 1-128; None leaves it out (single-threaded)
    fat_times: bool = True  # /FFT: 2-second timestamps, as NAS/Samba shares keep them
    exclude_junctions: bool = True  # /XJ
    no_progress: bool = True  # /NP
    sizes_in_bytes: bool = True  # /BYTES
    unicode_log: str | None = None  # /UNILOG+:<file>, a Windows path on the worker
    tee: bool = True  # /TEE: with a log, still write to the console (we parse stdout)
    exclude_files: tuple[str, ...] = ()  # /XF, on top of DEFAULT_EXCLUDE_FILES
    exclude_dirs: tuple[str, ...] = ()  # /XD, on top of DEFAULT_EXCLUDE_DIRS
    default_exclusions: bool = True
    dry_run: bool = False  # /L: list only, change nothing
    executable: str = "robocopy"

    def validated(self) -> RobocopyOptions:
        """A copy with normalised paths; a ConfigError names the first bad option."""
        if self.retries < 0 or self.wait_seconds < 0:
            raise ConfigError(f"retries and wait_seconds must be 0 or more, got "
                              f"{self.retries} and {self.wait_seconds}")
        if self.threads is not None and not 1 <= self.threads <= MAX_THREADS:
            raise ConfigError(f"threads = {self.threads}: robocopy /MT takes 1-{MAX_THREADS}")
        for option, patterns in (("exclude_files", self.exclude_files),
                                 ("exclude_dirs", self.exclude_dirs)):
            bad = [p for p in patterns if not isinstance(p, str) or not p.strip()]
            if bad:
                raise ConfigError(f"{option}: empty pattern in {list(patterns)!r}")
            # robocopy has no `--`: every argument that starts with '/' is one of its options
            # (`/PURGE`), and a Windows name cannot hold a '/' anyway.
            option_like = [p for p in patterns if p.lstrip().startswith("/")]
            if option_like:
                raise ConfigError(f"{option}: {option_like[0]!r} starts with '/': robocopy "
                                  "would read it as an option")
        log = windows_path(self.unicode_log, "unicode_log") if self.unicode_log else None
        source = windows_path(self.source, "source")
        destination = windows_path(self.destination, "destination")
        if source.lower() == destination.lower():
            raise ConfigError(f"source and destination are the same folder: {source}")
        return RobocopyOptions(**{**self.__dict__, "source": source,
                                  "destination": destination, "unicode_log": log})

    @property
    def all_exclude_files(self) -> tuple[str, ...]:
        base = DEFAULT_EXCLUDE_FILES if self.default_exclusions else ()
        return _unique(base + self.exclude_files)

    @property
    def all_exclude_dirs(self) -> tuple[str, ...]:
        base = DEFAULT_EXCLUDE_DIRS if self.default_exclusions else ()
        return _unique(base + self.exclude_dirs)


def build_command(options: RobocopyOptions) -> tuple[str, ...]:
    """The argv for `options` (validated first). Each argument is one element, so paths and
    patterns with spaces need no shell quoting here; the executor quotes for Windows."""
    opts = options.validated()
    argv = [opts.executable, opts.source, opts.destination]
    if opts.mirror:
        argv.append("/MIR")
    if opts.exclude_older:
        argv.append("/XO")
    argv += [f"/R:{opts.retries}", f"/W:{opts.wait_seconds}"]
    if opts.threads is not None:
        argv.append(f"/MT:{opts.threads}")
    flags = ((opts.fat_times, "/FFT"), (opts.exclude_junctions, "/XJ"),
             (opts.no_progress, "/NP"), (opts.sizes_in_bytes, "/BYTES"))
    argv += [flag for wanted, flag in flags if wanted]
    if opts.unicode_log:
        argv.append(f"/UNILOG+:{opts.unicode_log}")
        if opts.tee:
            argv.append("/TEE")
    if opts.all_exclude_files:
        argv += ["/XF", *opts.all_exclude_files]
    if opts.all_exclude_dirs:
        argv += ["/XD", *opts.all_exclude_dirs]
    if opts.dry_run:
        argv.append("/L")
    return tuple(argv)


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.lower(), item)  # Windows names are case-insensitive
    return tuple(seen.values())
