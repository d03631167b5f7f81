"""What the soak found: the invariants checked at the end, the figures, and one verdict line."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

RECOVERY_BOUND = 60.0  # seconds from the last fault to the last file verified


@dataclass
class Report:
    files: int
    contents: int
    seed: int
    lost: list[str] = field(default_factory=list)  # contents neither in the library nor a source
    doubled: dict[str, int] = field(default_factory=dict)  # sha256 -> extra copies
    unexpected: int = 0  # library files whose bytes no written file had
    unfinished: list[str] = field(default_factory=list)  # still in the source at the end
    early_releases: list[str] = field(default_factory=list)  # source gone, its copy not there
    temps: list[str] = field(default_factory=list)  # temp files left after the final reconcile
    quarantined: list[str] = field(default_factory=list)
    inflight: int | None = None  # None: Redis not reachable at the end
    failures: list[str] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)  # the source's journal entries
    unjournaled: list[str] = field(default_factory=list)  # arrived, no ingested/duplicate entry
    journaled_twice: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    skipped_faults: int = 0
    restarts: int = 0
    restart_seconds: list[float] = field(default_factory=list)
    recovery: float | None = None  # last fault -> last ingested/duplicate journal entry
    observed_recovery: float | None = None  # last fault -> source empty, library complete
    inflight_recovery: float | None = None  # last fault -> that and nothing in flight
    longest_stall: float = 0.0  # files waiting in the source, none leaving it
    stall_began: float = 0.0  # seconds after the soak began
    slowest: list[str] = field(default_factory=list)  # arrival -> source gone
    reconciled: bool = False
    leftovers: list[str] = field(default_factory=list)
    left_at_end: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    work: str = ""

    @property
    def doubled_count(self) -> int:
        return sum(self.doubled.values())

    @property
    def figure(self) -> float | None:
        """Last fault -> last file verified: the journal's, else the sampler's."""
        return self.recovery if self.recovery is not None else self.observed_recovery

    def figure_text(self) -> str:
        figure = self.figure
        if not self.faults:
            return "no faults"
        if figure is None:
            return "never (files unfinished)"
        if figure < 0:
            return f"{-figure:.1f} s before the last fault (it hit an idle stack)"
        return f"{figure:.1f} s after the last fault"

    def checks(self) -> list[tuple[str, bool, str]]:
        """(what, passed, detail) for every invariant of the soak."""
        recovery = self.figure
        return [
            ("nothing lost", not self.lost, f"{len(self.lost)} lost"),
            ("nothing doubled", not self.doubled, f"{self.doubled_count} doubled"),
            ("byte-identical", self.unexpected == 0, f"{self.unexpected} unknown contents"),
            ("every source gone", not self.unfinished, f"{len(self.unfinished)} still there"),
            ("sources gone only after their copy", not self.early_releases,
             f"{len(self.early_releases)} early"),
            ("every file journaled once (ingested or duplicate)",
             not self.unjournaled and not self.journaled_twice,
             f"{len(self.unjournaled)} without an outcome, {len(self.journaled_twice)} twice"),
            ("nothing in flight", self.inflight == 0,
             "Redis unreachable" if self.inflight is None else f"{self.inflight} in flight"),
            ("no temp files after the final reconcile", not self.temps and self.reconciled,
             f"{len(self.temps)} temp files" + ("" if self.reconciled else
                                                 ", the final reconcile did not run")),
            (f"last file within {RECOVERY_BOUND:.0f} s of the last fault",
             (not self.faults and not self.unfinished)
             or (recovery is not None and recovery <= RECOVERY_BOUND), self.figure_text()),
            ("no process left after the stop", not self.left_at_end,
             f"{len(self.left_at_end)} left"),
        ]

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.checks())

    def verdict(self) -> str:
        failed = [f"{what}: {detail}" for what, ok, detail in self.checks() if not ok]
        if not failed:
            return (f"PASS: {self.contents} contents exactly once, 0 lost, 0 doubled, last file "
                    f"verified {self.figure_text()}")
        return "FAIL: " + "; ".join(failed)

    def lines(self) -> list[str]:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        restarts = sorted(self.restart_seconds)
        median = f", median {restarts[len(restarts) // 2]:.1f} s to ready" if restarts else ""
        out = [
            f"soak: {self.files} files ({self.contents} distinct contents), seed {self.seed}, "
            f"{self.seconds:.0f} s, work dir {self.work}",
            f"faults: {sum(self.faults.values())} fired ({faults}), {self.skipped_faults} "
            f"skipped; `up` started again {self.restarts} times{median}",
            f"journal: {_counts(self.events)}",
            f"lost {len(self.lost)}, doubled {self.doubled_count}, unfinished "
            f"{len(self.unfinished)}, early releases {len(self.early_releases)}, in flight "
            f"{self.inflight}, temp files {len(self.temps)}, quarantined {len(self.quarantined)}",
            "recovery (last fault -> last file verified): "
            f"journal {_seconds(self.recovery)}, observed {_seconds(self.observed_recovery)}, "
            f"nothing in flight {_seconds(self.inflight_recovery)}; longest stall with files "
            f"waiting {self.longest_stall:.1f} s (from {self.stall_began:.0f} s); slowest: "
            + ", ".join(self.slowest),
        ]
        out += [f"  {what}: {'ok' if ok else 'FAILED'} ({detail})"
                for what, ok, detail in self.checks()]
        for title, items in (("lost", self.lost), ("unfinished", self.unfinished),
                             ("no outcome journaled", self.unjournaled),
                             ("journaled twice", self.journaled_twice),
                             ("early release", self.early_releases), ("temp", self.temps),
                             ("failure", self.failures), ("left behind", self.leftovers),
                             ("left at the end", self.left_at_end), ("note", self.notes)):
            out += [f"  {title}: {item}" for item in _first(items)]
        out.append(self.verdict())
        return out

    def write_json(self, path: Path) -> None:
        data = asdict(self)
        data["passed"] = self.passed
        data["verdict"] = self.verdict()
        path.write_text(json.dumps(data, indent=2, sort_keys=True))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _first(items: list[str], count: int = 12) -> list[str]:
    if len(items) <= count:
        return items
    return [*items[:count], f"… and {len(items) - count} more"]


def compare(expected: dict[str, str], library: Counter[str], present: set[str]) -> tuple[
        list[str], dict[str, int], int, list[str]]:
    """expected: rel -> sha256 of every file written. Returns (lost contents, doubled contents
    with their extra copies, library files of unknown content, rels still in the source)."""
    wanted = set(expected.values())
    still_there = {expected[rel] for rel in expected if rel in present}
    names: dict[str, list[str]] = {}
    for rel, sha in sorted(expected.items()):
        names.setdefault(sha, []).append(rel)
    lost = sorted(f"{sha[:12]} ({', '.join(names[sha])})" for sha in wanted
                  if library[sha] == 0 and sha not in still_there)
    doubled = {sha: n - 1 for sha, n in library.items() if sha in wanted and n > 1}
    unexpected = sum(n for sha, n in library.items() if sha not in wanted)
    unfinished = sorted(rel for rel in expected if rel in present)
    return lost, doubled, unexpected, unfinished
