"""A flow set up in a temp folder, run step by step in this process as the task chain runs it,
and a stand-in for Syncthing's REST answers (the real two-node check is in tests/e2e)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.config import Settings, SyncthingConfig, build_settings
from shared.delivery.syncthing import Completion, FileInfo
from shared.flow import StepOutcome, StepRun, advance, begin, check_range
from shared.state import RedisStateStore

DEVICE = "MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root and its bytes: what a test compares before and after."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def photos(folder: Path, count: int, prefix: str = "IMG_") -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for i in range(count):
        data = f"{prefix}{i} ".encode() * (200 + i)
        (folder / f"{prefix}{i:04d}.jpg").write_bytes(data)
        made[f"{prefix}{i:04d}.jpg"] = data
    return made


def settings_for(root: Path, steps: list[dict[str, Any]], phone: bool = False) -> Settings:
    for name in ("icloud", "synced/pixel", "nas", "inbox"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "st.key").write_text("key\n")
    raw: dict[str, Any] = {
        "data_dir": "data",
        "sources": {"inbox": {"path": "inbox", "library": "nas"}},
        "libraries": {"pixel": {"path": "synced/pixel"}, "nas": {"path": "nas"}},
        "flows": {"relay": {"from": "icloud", "steps": steps}},
    }
    if phone:
        raw["libraries"]["pixel"]["syncthing"] = "phone"
        raw["syncthing"] = {"phone": {"api_key_file": "st.key", "folder_id": "pixel",
                                      "folder_path": "synced", "devices": [DEVICE],
                                      "timeout": "1s", "poll": "0.05s"}}
    return build_settings(raw, root / "mc.toml", root)


def run_flow(settings: Settings, store: RedisStateStore, start: int = 1, end: int = 0,
             **parts: Any) -> list[StepOutcome]:
    """What `mediacourier flow relay --run` and the chain of flow_step messages do."""
    flow = settings.flows["relay"]
    start, end = check_range(flow, start, end)
    begin(settings, store, flow, start, end)
    outcomes, step, admit = [], start, start == 1
    while step:
        outcome = advance(StepRun(settings, store, flow, flow.steps[step - 1], **parts), end,
                          admit)
        outcomes.append(outcome)
        step, admit = outcome.next_step, False
    return outcomes


@dataclass
class PhoneDouble:
    """Answers as Syncthing does for one connected device that has every file of the folder
    except those named in `never`; `scans` lists, at each scan request, what the phone's
    library folder held then."""

    folder: Path
    never: set[str] = field(default_factory=set)
    scans: list[list[str]] = field(default_factory=list)

    def __call__(self, config: SyncthingConfig) -> PhoneDouble:
        return self

    def scan(self, folder: str, sub: str = "", timeout: float = 300.0) -> None:
        self.scans.append(sorted(os.listdir(self.folder / sub)))

    def connections(self) -> dict[str, dict[str, Any]]:
        return {DEVICE: {"connected": True}}

    def completion(self, folder: str, device: str) -> Completion:
        return Completion(50.0 if self.never else 100.0, len(self.never), 0)

    def file(self, folder: str, name: str) -> FileInfo | None:
        path = self.folder / name
        if not path.is_file():
            return None
        has = frozenset() if path.name in self.never else frozenset({DEVICE})
        return FileInfo(name, path.stat().st_size, has, True)
