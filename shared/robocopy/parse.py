"""Reading robocopy's output: the closing summary table and the per-file ERROR lines.

The summary is read by position, never by header text, so localised output works:

                   Total    Copied   Skipped  Mismatch    FAILED    Extras
        Dirs :         3         3         0         0         0         0
       Files :         7         7         0         0         0         0
       Bytes :  17.473 g  17.473 g         0         0         0         0
       Times :   0:01:21   0:01:21                       0:00:00   0:00:00

A summary row is any line ending in `<label> :` followed by five or six numbers (sizes may
carry a unit, `1.234 g`, with either decimal separator; with /BYTES they are plain integers);
the Times row has four durations (Skipped and Mismatch are blank). Rows that follow each other
form one table and the LAST table in the output wins: the job header's `Files : *.*` never
matches, and a log appended to by several runs (/LOG+) reports its latest run. Which row is
which comes from the label when it is a known one (English, German, French, Spanish, Italian,
Dutch, Portuguese) and otherwise from the order robocopy always prints: Dirs, Files, Bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
COLUMNS = ("total", "copied", "skipped", "mismatch", "failed", "extras")

_NUMBER = r"\d[\d.,]*(?:\s[kmgtKMGT]\b)?"
_DURATION = r"\d+:\d{2}(?::\d{2}|[.,]\d+)?"
_LABEL = r"(?P<label>[^\s:|][^:|]*?)\s*:\s*"  # a label may follow a logger's "... |" prefix
_ROW = re.compile(rf"{_LABEL}(?P<values>(?:{_NUMBER}\s+){{4,5}}{_NUMBER})\s*$")
_TIMES = re.compile(rf"{_LABEL}(?P<values>(?:{_DURATION}\s+){{3,5}}{_DURATION})\s*$")
_VALUE = re.compile(r"(\d[\d.,]*)(?:\s([kmgtKMGT]))?")
_SPEED = re.compile(r":\s*(\d[\d.,]*)\s+[^\W\d_]+/", re.I)  # "Bytes/sec.", "Bytes/Sek.", ...
# `2020/10/04 10:33:23 ERROR 5 (0x00000005) Copying File C:\Users\x\root.txt` (the date is
# missing with /NJH-style logs; the word ERROR is localised, the "(0x...)" part is not).
_ERROR = re.compile(r"(?P<code>\d+) \(0x(?P<hex>[0-9A-Fa-f]{8})\) (?P<rest>.*?)\s*$")
_PATH_START = re.compile(r"(?:[A-Za-z]:\\|\\\\)")
_GAVE_UP = re.compile(r"RETRY LIMIT EXCEEDED", re.I)
# Job-level errors with no Windows error code, e.g. "ERROR : Invalid Parameter #3 : "/XX"".
# Robocopy sometimes prints its own message templates after one ("#%d"): those are left out.
_JOB_ERROR = re.compile(r"^\s*(?:ERROR|FEHLER|ERREUR|ERRORE)\s+:\s*(?P<text>.+?)\s*$")
# Tags robocopy prints (English; capitalised = selected for copying) for a file that exists in
# the destination and is replaced. Localised tags are not known: those files count as copied.
_UPDATE_TAG = re.compile(r"^\s*(?:\d+(?:[.,]\d+)?%\s+)?(Newer|Older|Changed|Tweaked)\s+\d")

_LABELS = {
    "dirs": ("dirs", "verzeich", "verzeichnisse", "rép", "répertoires", "rep", "dir", "dirs.",
             "directorios", "cartelle", "dir.", "mappen", "pastas", "diretórios"),
    "files": ("files", "dateien", "fichiers", "archivos", "file", "bestanden", "arquivos"),
    "bytes": ("bytes", "octets", "byte"),
}
_ORDER = ("dirs", "files", "bytes")


@dataclass(frozen=True)
class Counts:
    """One summary row: Total, Copied, Skipped, Mismatch, FAILED, Extras (in that order)."""

    total: int
    copied: int
    skipped: int
    mismatch: int
    failed: int
    extras: int


@dataclass(frozen=True)
class Times:
    """The Times row in seconds: Total, Copied, FAILED (waiting between retries), Extras."""

    total: float
    copied: float
    failed: float
    extras: float


@dataclass(frozen=True)
class Summary:
    dirs: Counts | None
    files: Counts | None
    bytes: Counts | None
    times: Times | None
    bytes_exact: bool  # False when robocopy rounded sizes to k/m/g/t (no /BYTES)
    speed_bytes_per_second: int | None


@dataclass(frozen=True)
class FileError:
    """A file or folder robocopy reported an error for (each retry repeats the line)."""

    path: str
    code: int
    action: str  # e.g. "Copying File", as robocopy wrote it (localised)
    message: str  # the reason on the following line, e.g. "Access is denied."
    attempts: int
    gave_up: bool  # robocopy said "RETRY LIMIT EXCEEDED" for it


@dataclass(frozen=True)
class RobocopyOutput:
    summary: Summary | None  # None when robocopy was stopped early or /NJS was given
    file_errors: tuple[FileError, ...]
    updated_files: int  # file lines tagged Newer/Older/Changed/Tweaked (English output)
    job_errors: tuple[str, ...] = ()  # "ERROR : ..." lines: why a whole job could not run


def parse_output(text: str) -> RobocopyOutput:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    updated = sum(1 for line in lines if _UPDATE_TAG.match(line))
    job_errors = tuple(m["text"] for m in map(_JOB_ERROR.match, lines)
                       if m and "%" not in m["text"])
    return RobocopyOutput(_last_summary(lines), _file_errors(lines), updated, job_errors)


def parse_size(value: str, unit: str = "") -> int:
    """`17.473` + `g` -> bytes (binary units, as robocopy uses). With a unit the last `.` or
    `,` is the decimal point; other separators (and all of them without a unit) group digits."""
    multiplier = UNITS[unit.lower()]
    if unit:
        head, sep, tail = _split_decimal(value)
        whole = int(re.sub(r"[.,]", "", head) or "0")
        fraction = float(f"0.{tail}") if sep else 0.0
        return round((whole + fraction) * multiplier)
    return int(re.sub(r"[.,]", "", value))


def parse_duration(value: str) -> float:
    """`0:01:21` (h:mm:ss) or `0:16.914` (m:ss.fff, older robocopy) -> seconds."""
    parts = value.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def _split_decimal(value: str) -> tuple[str, str, str]:
    index = max(value.rfind("."), value.rfind(","))
    if index < 0:
        return value, "", ""
    return value[:index], value[index], value[index + 1:]


def _last_summary(lines: list[str]) -> Summary | None:
    blocks: list[list[tuple[int, str, re.Match[str]]]] = []
    previous = -2
    for index, line in enumerate(lines):
        match = _ROW.search(line) or _TIMES.search(line)
        if not match:
            continue
        if index != previous + 1:
            blocks.append([])
        blocks[-1].append((index, line, match))
        previous = index
    for block in reversed(blocks):
        summary = _summary_from(block, lines[block[-1][0] + 1:])
        if summary is not None:
            return summary
    return None


def _summary_from(block: list[tuple[int, str, re.Match[str]]], after: list[str]) -> Summary | None:
    rows: dict[str, Counts] = {}
    exact = True
    times: Times | None = None
    unnamed: list[tuple[list[tuple[str, str]], str]] = []
    for _, _, match in block:
        if match.re is _TIMES:
            values = [parse_duration(v) for v in match["values"].split()]
            times = _times(values)
            continue
        pairs = _VALUE.findall(match["values"])
        name = _label(match["label"])
        if name in rows or name is None:
            unnamed.append((pairs, match["label"]))
        else:
            rows[name] = _counts(pairs)
            exact = exact and not (name == "bytes" and any(unit for _, unit in pairs))
    free = [name for name in _ORDER if name not in rows]
    for (pairs, _), name in zip(unnamed, free, strict=False):
        rows[name] = _counts(pairs)
        exact = exact and not (name == "bytes" and any(unit for _, unit in pairs))
    if not rows:
        return None
    exact = exact and "bytes" in rows
    return Summary(rows.get("dirs"), rows.get("files"), rows.get("bytes"), times, exact,
                   _speed(after))


def _label(text: str) -> str | None:
    word = re.split(r"[\s|]+", text.strip())[-1].lower().rstrip(".")
    for name, words in _LABELS.items():
        if word in (w.rstrip(".") for w in words):
            return name
    return None


def _counts(pairs: list[tuple[str, str]]) -> Counts:
    values = [parse_size(number, unit) for number, unit in pairs]
    values += [0] * (len(COLUMNS) - len(values))  # old robocopy had no Extras column
    return Counts(*values[: len(COLUMNS)])


def _times(values: list[float]) -> Times:
    if len(values) >= 6:  # all six columns present
        return Times(values[0], values[1], values[4], values[5])
    values += [0.0] * (4 - len(values))
    return Times(*values[:4])


def _speed(after: list[str]) -> int | None:
    for line in after[:6]:
        match = _SPEED.search(line)
        if match:
            return int(re.sub(r"[.,]", "", match[1]))
    return None


def _file_errors(lines: list[str]) -> tuple[FileError, ...]:
    found: dict[str, FileError] = {}
    last: str | None = None
    for index, line in enumerate(lines):
        if last and _GAVE_UP.search(line):
            found[last] = FileError(**{**found[last].__dict__, "gave_up": True})
            continue
        match = _ERROR.search(line)
        if not match or int(match["hex"], 16) != int(match["code"]):
            continue
        rest = match["rest"]
        start = _PATH_START.search(rest)
        action, path = (rest[: start.start()].strip(), rest[start.start():].strip()) if start \
            else (rest, "")
        message = next((n.strip() for n in lines[index + 1: index + 3] if n.strip()), "")
        key = path or rest
        attempts = found[key].attempts + 1 if key in found else 1
        found[key] = FileError(path, int(match["code"]), action, message, attempts, False)
        last = key
    return tuple(found.values())
