"""Where a flow's files are, which step each reached, and the flow's run and hold, in Redis.

Keys (P = the store's prefix; every key is made by `RedisStateStore.key`):
  P:flow:<name>:files   hash  rel_path -> JSON FlowFile (the step reached, where it is now, ...)
  P:flow:<name>:run     hash  {state: running|done|held, step, start, end, at}: the current run
  P:flow-holds          hash  flow name -> JSON {since, step, reason}: a flow held by a step
                              that failed for every file it tried (`status` shows it)
A file that fails is also in the store's failed list under the source `flow:<name>`, and every
step a file reaches is journaled (`flow-step`), so `history` and `trace` show the way it went.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from shared.state import RedisStateStore

HOLDS = "flow-holds"


@dataclass(frozen=True)
class FlowFile:
    """One file of a flow. `rel` is its path under the flow's `from` folder and stays its
    name in every folder the flow puts it in; `at` is the absolute path of the file now."""

    rel: str
    at: str
    size: int = 0
    sha256: str = ""
    mtime_ns: int = 0
    done: int = 0  # steps reached: step `done + 1` is the next one it goes through
    failed: str = ""  # why step `done + 1` failed for it; "" while it can go on
    copies: dict[str, str] = field(default_factory=dict)  # step label -> a copy it left

    def evolve(self, **changes: Any) -> FlowFile:
        return replace(self, **changes)


@dataclass(frozen=True)
class RunState:
    state: str = ""  # "" (never run), running, done, held
    step: int = 0
    start: int = 0
    end: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class FlowHold:
    since: float
    step: int
    reason: str


class FlowLedger:
    """The Redis records of one flow."""

    def __init__(self, store: RedisStateStore, flow: str) -> None:
        self.store, self.flow = store, flow
        self.client = store.client
        self._files = store.key("flow", flow, "files")
        self._run = store.key("flow", flow, "run")

    @property
    def failure_source(self) -> str:
        return f"flow:{self.flow}"

    # files ------------------------------------------------------------------------------
    def files(self) -> dict[str, FlowFile]:
        return {rel: FlowFile(**json.loads(raw))
                for rel, raw in self.client.hgetall(self._files).items()}

    def admit(self, found: list[FlowFile]) -> list[FlowFile]:
        """Add the files not known yet (HSETNX: a file already on its way keeps its record)."""
        pipe = self.client.pipeline()
        for item in found:
            pipe.hsetnx(self._files, item.rel, json.dumps(asdict(item)))
        added = [item for item, new in zip(found, pipe.execute(), strict=True) if new]
        for item in added:
            self.store.journal("flow-admitted", flow=self.flow, path=item.rel, bytes=item.size)
        return added

    def put(self, item: FlowFile) -> None:
        self.client.hset(self._files, item.rel, json.dumps(asdict(item)))

    def reached(self, item: FlowFile, step: int, label: str, **journal: Any) -> FlowFile:
        """The file went through `step`: recorded, journaled, off the failed list."""
        item = item.evolve(done=step, failed="")
        self.put(item)
        self.store.clear_failure(self.failure_source, item.rel)
        self.store.journal("flow-step", flow=self.flow, step=label, path=item.rel,
                           at=item.at, **journal)
        return item

    def fail(self, item: FlowFile, label: str, reason: str) -> FlowFile:
        """The file could not go through the step; it stays where it is, the others go on."""
        item = item.evolve(failed=reason)
        self.put(item)
        self.store.record_failure(self.failure_source, item.rel, f"step {label}: {reason}",
                                  flow=self.flow, step=label)
        self.store.journal("flow-failed", flow=self.flow, step=label, path=item.rel,
                           reason=reason)
        return item

    def retry_failed(self, step: int) -> int:
        """A new run of `step` tries again the files that failed there."""
        again = [f for f in self.files().values() if f.failed and f.done == step - 1]
        for item in again:
            self.put(item.evolve(failed=""))
        self.store.clear_failures(self.failure_source, [f.rel for f in again])
        return len(again)

    # run and hold -------------------------------------------------------------------------
    def run(self) -> RunState:
        raw = self.client.hgetall(self._run)
        if not raw:
            return RunState()
        return RunState(raw.get("state", ""), int(raw.get("step", 0)), int(raw.get("start", 0)),
                        int(raw.get("end", 0)), float(raw.get("at", 0)))

    def set_run(self, state: str, step: int, start: int, end: int) -> None:
        self.client.hset(self._run, mapping={"state": state, "step": step, "start": start,
                                             "end": end, "at": f"{time.time():.3f}"})

    def hold(self, step: int, label: str, reason: str) -> None:
        value = {"since": time.time(), "step": step, "reason": f"step {label}: {reason}"}
        self.client.hset(self.store.key(HOLDS), self.flow, json.dumps(value))
        run = self.run()
        self.set_run("held", step, run.start, run.end)
        self.store.journal("flow-held", flow=self.flow, step=label, reason=reason)

    def held(self) -> FlowHold | None:
        raw = self.client.hget(self.store.key(HOLDS), self.flow)
        return None if raw is None else FlowHold(**json.loads(raw))

    def lift(self) -> bool:
        lifted = bool(self.client.hdel(self.store.key(HOLDS), self.flow))
        if lifted:
            self.store.journal("flow-resumed", flow=self.flow)
        return lifted


def flow_holds(store: RedisStateStore) -> dict[str, FlowHold]:
    """Every held flow, for `mediacourier status`."""
    return {name: FlowHold(**json.loads(raw))
            for name, raw in store.client.hgetall(store.key(HOLDS)).items()}
