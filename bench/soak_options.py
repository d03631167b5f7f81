"""The soak's options (`python -m bench.soak --help`) and the configuration it runs `up` with:
one move-mode source into one library that deletes duplicates (so every source must go), the
embedded Redis, free ports for metrics and Flower, defaults for everything else."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from workers.ports import free_port

SOURCE, LIBRARY, PREFIX = "inbox", "library", "mediacourier"


@dataclass
class Options:
    files: int = 1000
    faults: int = 100
    seconds: float = 60.0
    seed: int = 11
    drain: float = 120.0  # the longest wait for the last files after the last fault
    stall_cap: float = 8.0  # a fault waits no longer than this for the work to progress
    workdir: Path | None = None
    keep: bool = False
    flower: bool = False
    settings: list[str] = field(default_factory=list)  # extra top-level TOML lines
    report: Path | None = None


def write_config(work: Path, options: Options) -> Path:
    config = work / "mediacourier.toml"
    # Free ports picked now: another stack (or engineer) may hold 5555 and 9808.
    lines = [f'data_dir = "{work / "data"}"',
             f'metrics_listen = "127.0.0.1:{free_port("127.0.0.1")}"',
             f"flower_port = {free_port('127.0.0.1')}", *options.settings,
             f"[sources.{SOURCE}]", f'path = "{work / SOURCE}"', f'library = "{LIBRARY}"',
             'mode = "move"', 'stability = "1s"',
             f"[libraries.{LIBRARY}]", f'path = "{work / LIBRARY}"', 'duplicates = "delete"']
    (work / SOURCE).mkdir(parents=True, exist_ok=True)
    (work / LIBRARY).mkdir(parents=True, exist_ok=True)
    config.write_text("\n".join(lines) + "\n")
    return config


def parse_args(argv: list[str] | None, description: str) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--faults", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0, help="arrival window")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--drain", type=float, default=120.0,
                        help="longest wait for the last files after the last fault")
    parser.add_argument("--stall-cap", type=float, default=8.0,
                        help="longest a fault waits for the work to progress")
    parser.add_argument("--workdir", type=Path, help="default: a new folder under /tmp")
    parser.add_argument("--keep", action="store_true", help="keep the work dir after a pass")
    parser.add_argument("--flower", action="store_true", help="run Flower too")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="KEY=VALUE", help="a top-level setting (TOML), e.g. "
                        "visibility_timeout=60; repeatable")
    parser.add_argument("--report", type=Path, help="write the report as JSON here too")
    args = parser.parse_args(argv)
    if args.files < 10 or args.faults < 0 or args.seconds <= 0:
        parser.error("--files must be at least 10, --faults not negative, --seconds positive")
    for line in args.settings:
        if "=" not in line:
            parser.error(f"--set {line!r}: give KEY=VALUE (TOML), e.g. visibility_timeout=60")
    return Options(**vars(args))
