"""What a flow's steps do, in words: `--list-steps`, `--status` and `--dry-run`.

A dry run reads the folders and the records and writes nothing anywhere: the files not in the
flow yet are listed by name (not hashed), and every step is assumed to go through for every file,
so a step shows the files the steps before it would hand it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import FlowConfig, FlowStep, Settings
from shared.flow.files import find_files
from shared.flow.ledger import FlowFile, FlowLedger
from shared.flow.run import outputs

SHOWN = 8  # file names listed per step before "… N more"


def describe(settings: Settings, step: FlowStep) -> str:
    """One line: what the step does and where."""
    if step.kind == "deliver":
        library = settings.libraries[step.library]
        batch = f"in batches of {step.batch}" if step.batch else "all at once"
        text = f"move into library {step.library} ({library.path}) {batch}"
        if library.syncthing:
            config = settings.syncthing[library.syncthing]
            timeout = step.timeout_seconds or config.timeout_seconds
            text += (f", each batch confirmed on {', '.join(d[:7] for d in config.devices)} "
                     f"through [syncthing.{library.syncthing}] within {timeout:g} s")
        return text
    if step.kind == "archive":
        library = settings.libraries[step.library] if step.library else None
        where = str(step.to) if library is None else f"library {step.library} ({library.path})"
        target = settings.targets.get(library.target) if library and library.target else None
        if target is not None and target.over_ssh:
            where += f" on target {target.name} ({target.user}@{target.address})"
        return f"verified copy to {where}; the file stays where it is"
    if step.kind in ("move", "release"):
        verb = "move" if step.kind == "move" else "release (move, ready to delete elsewhere)"
        return f"{verb} to {step.to}, removed from where it was once the copy is verified"
    if step.kind == "compress":
        return (f"compressed copy into {step.to} (images quality {step.image_quality}, "
                f"format {step.image_format}; videos {step.video_codec} CRF {step.video_crf}); "
                "the original stays")
    return (f"remove {', '.join(step.patterns)} and our temp files older than "
            f"{step.older_than_seconds / 3600:g} h from {step.folder}")


def step_lines(settings: Settings, flow: FlowConfig) -> list[str]:
    return [f"{step.number}. {step.kind}: {describe(settings, step)}" for step in flow.steps]


def _names(files: list[str]) -> str:
    more = f" … {len(files) - SHOWN} more" if len(files) > SHOWN else ""
    return ", ".join(files[:SHOWN]) + more


def dry_run(settings: Settings, ledger: FlowLedger, flow: FlowConfig, start: int,
            end: int) -> list[str]:
    """What `--run --start start --end end` would do, one line per step (and batch)."""
    done = {rel: item.done for rel, item in ledger.files().items() if not item.failed}
    lines: list[str] = []
    if start == 1 and flow.from_path.is_dir():
        new = [rel for rel, _ in find_files(flow.from_path, skip=outputs(settings, flow))
               if rel not in ledger.files()]
        lines.append(f"would take {len(new)} new file(s) from {flow.from_path}"
                     + (f": {_names(new)}" if new else ""))
        done.update(dict.fromkeys(new, 0))
    for step in flow.steps[start - 1: end]:
        files = sorted(rel for rel, reached in done.items() if reached == step.number - 1)
        head = f"step {step.label}: {describe(settings, step)}"
        if step.kind == "cleanup":
            lines.append(f"{head}: would look for stale files")
        elif not files:
            lines.append(f"{head}: no files")
        elif step.batch and len(files) > step.batch:
            lines.append(f"{head}: {len(files)} file(s) in "
                         f"{-(-len(files) // step.batch)} batches")
            for i in range(0, len(files), step.batch):
                lines.append(f"  batch {i // step.batch + 1}: {_names(files[i:i + step.batch])}")
        else:
            lines.append(f"{head}: {len(files)} file(s): {_names(files)}")
        done.update(dict.fromkeys(files, step.number))
    lines.append("dry run: nothing was changed")
    return lines


@dataclass(frozen=True)
class StepCount:
    step: FlowStep
    reached: int  # files that went through it (or further)
    waiting: int  # files it takes next
    failed: int  # files that failed in it


def step_counts(ledger: FlowLedger, flow: FlowConfig) -> list[StepCount]:
    files = list(ledger.files().values())
    return [StepCount(step, sum(f.done >= step.number for f in files),
                      sum(f.done == step.number - 1 and not f.failed for f in files),
                      sum(f.done == step.number - 1 and bool(f.failed) for f in files))
            for step in flow.steps]


def failed_files(ledger: FlowLedger) -> list[FlowFile]:
    return sorted((f for f in ledger.files().values() if f.failed), key=lambda f: f.rel)
