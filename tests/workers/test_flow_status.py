"""`mediacourier status` and the web overview show a source that feeds a flow as the flow's:
where the flow's run is (step K of N, its kind, the files it waits on), stopped after a step,
or held with the reason; never as an ordinary source that is idle. The flow's steps really
run here (in this process, as the chain of flow_step tasks runs them)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import fakeredis
from rich.console import Console

from shared.config import Settings, build_settings
from shared.flow import StepRun, advance, begin
from shared.state import RedisStateStore
from tests.shared.flow.helpers import photos, run_flow, tree
from workers.report import print_status
from workers.web.data import status_data
from workers.web.pages import templates

STEPS = [{"kind": "deliver", "library": "pixel", "batch": 2},
         {"kind": "archive", "to": "nas-archive"},
         {"kind": "release", "to": "icloud-delete"}]


def _settings(root: Path) -> Settings:
    for name in ("icloud", "pixel", "nas-archive", "inbox", "nas"):
        (root / name).mkdir(parents=True, exist_ok=True)
    raw: dict[str, Any] = {
        "data_dir": "data",
        "sources": {"icloud": {"path": "icloud", "library": "nas"},
                    "inbox": {"path": "inbox", "library": "nas"}},
        "libraries": {"pixel": {"path": "pixel"}, "nas": {"path": "nas"}},
        "flows": {"relay": {"source": "icloud", "steps": STEPS}},
    }
    return build_settings(raw, root / "mc.toml", root)


def _store() -> RedisStateStore:
    return RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "mc")


def _status(store: RedisStateStore, settings: Settings) -> dict[str, str]:
    """`status` as printed (piped: one line a row), as {row name: value}."""
    out = Console(file=io.StringIO(), width=300)
    print_status(out, store, {}, [], settings=settings)
    rows = {}
    for line in out.file.getvalue().splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 2:
            rows[cells[0]] = cells[1]
    return rows


def _overview(store: RedisStateStore, settings: Settings) -> dict[str, str]:
    """The overview's source rows as the page renders them: {source: 'library | state'}."""
    html = templates.get_template("_overview.html").render(
        root="", status=status_data(settings, store), failures=[])
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        name = re.search(r'data-label="Source">(\S+) <small>→ (.*?)</small>', row)
        state = re.search(r'data-label="State"[^>]*>(.*?)</td>', row, re.S)
        if name and state:
            text = re.sub(r"<[^>]+>", "", state.group(1)).strip()
            rows[name.group(1)] = f"{name.group(2)} | {text}"
    return rows


def test_a_flow_source_shows_its_flow_before_during_and_after_a_run(tmp_path: Path) -> None:
    # Given a flow of 3 steps fed by the source `icloud`, 3 photos in it, never run
    settings = _settings(tmp_path)
    store = _store()
    photos(tmp_path / "icloud", 3)
    # Then status and the overview say so, and the ordinary source stays an ordinary one
    never = "not run yet (3 steps; mediacourier flow relay --run)"
    assert _status(store, settings)["flow relay"] == never
    assert _status(store, settings)["source icloud"] == f"feeds flow relay: {never}"
    assert _overview(store, settings) == {"icloud": f"flow relay | flow relay: {never}",
                                          "inbox": "nas | ✓ running"}
    # When step 1 (deliver, 2 files a batch) has run its first batch, the next one waiting
    flow = settings.flows["relay"]
    begin(settings, store, flow, 1, 3)
    outcome = advance(StepRun(settings, store, flow, flow.steps[0]), 3, admit=True)
    assert outcome.reached == 2 and outcome.next_step == 1
    assert len(tree(tmp_path / "pixel")) == 2
    # Then the source is shown at its flow's step, with the file that step still waits on
    running = "step 1 of 3, deliver, 1 file waiting"
    assert _status(store, settings)["source icloud"] == f"feeds flow relay: {running}"
    assert _overview(store, settings)["icloud"] == f"flow relay | flow relay: {running}"
    # When a run of step 1 only ends
    run_flow(settings, store, start=1, end=1)
    # Then it says where it stopped, what waits next and how to go on
    stopped = ("stopped after step 1 of 3, deliver; 3 files waiting for step 2, archive "
               "(mediacourier flow relay --run --start 2)")
    assert _status(store, settings)["flow relay"] == stopped
    assert _overview(store, settings)["icloud"] == f"flow relay | flow relay: {stopped}"


def test_a_held_flow_is_shown_held_at_its_step_with_the_reason(tmp_path: Path) -> None:
    # Given the flow with its archive folder gone (a NAS not mounted)
    settings = _settings(tmp_path)
    store = _store()
    photos(tmp_path / "icloud", 2)
    (tmp_path / "nas-archive").rmdir()
    # When the flow runs
    outcomes = run_flow(settings, store)
    # Then it is held at step 2, and status and the overview show it there with the reason
    assert outcomes[-1].held and len(tree(tmp_path / "pixel")) == 2
    row = _status(store, settings)["flow relay"]
    assert re.fullmatch(r"HELD since \d\d:\d\d:\d\d: held at step 2 of 3, archive: .*"
                        + re.escape(str(tmp_path / "nas-archive")) + r".*", row), row
    assert "step 2 archive: " not in row  # the step is said once
    assert _status(store, settings)["source icloud"].startswith(
        "feeds flow relay: held at step 2 of 3, archive: ")
    page = _overview(store, settings)["icloud"]
    assert page.startswith("flow relay | ⏸ flow relay: held at step 2 of 3, archive: "), page
    # And a hold of a flow no longer configured still shows, as before
    store.client.hset(store.key("flow-holds"), "gone",
                      '{"since": 0, "step": 1, "reason": "step 1 archive: x"}')
    assert _status(store, settings)["flow gone"].startswith("HELD since")
