"""A mirror whose target is `kind = "robocopy"`: one `robocopy /MIR` run on the Windows worker
instead of per-file Destination steps, behind the same delete guard as every mirror."""

from __future__ import annotations

from shared.errors import MirrorRefused
from shared.executors import CommandExecutor
from shared.mirror.run import FileError, MirrorSummary
from shared.robocopy import MirrorStepSummary, RobocopyTarget, mirror_with_robocopy


def guard_message(step: MirrorStepSummary, max_delete: int, max_delete_share: float) -> str:
    """Why a /MIR run must not go ahead ("" when it may): robocopy would delete `step.deleted`
    destination extras, out of about skipped + updated + mismatched + extras files there."""
    there = step.skipped + step.updated + step.mismatched + step.deleted
    share = step.deleted / there if there else 0.0
    if step.deleted > max_delete or (step.deleted and share > max_delete_share):
        return (f"would delete {step.deleted} of {there} destination files ({share:.0%}); "
                f"the guard allows {max_delete} or {max_delete_share:.0%}: check the source, "
                "then run with --force")
    return ""


def run_robocopy_mirror(source: str, target: RobocopyTarget, executor: CommandExecutor,
                        exclude: tuple[str, ...], max_delete: int, max_delete_share: float,
                        force: bool = False, dry_run: bool = False) -> MirrorSummary:
    """List first (`/L`), refuse past the guard unless forced, then mirror for real."""
    listed = mirror_with_robocopy(source, target, executor, dry_run=True, exclude=exclude)
    refusal = guard_message(listed, max_delete, max_delete_share)
    if refusal and not force:
        raise MirrorRefused(refusal)
    step = listed if dry_run else mirror_with_robocopy(source, target, executor,
                                                       exclude=exclude)
    return MirrorSummary(
        copied=step.copied, updated=step.updated, deleted=step.deleted, skipped=step.skipped,
        failed=step.failed, bytes=step.bytes, seconds=step.seconds,
        errors=[FileError(e.path, e.action, f"robocopy error {e.code}: {e.message}")
                for e in step.failed_files])
