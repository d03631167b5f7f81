"""`mediacourier doctor` lines for rescan targets: container found, runs as the right user,
API reachable and authorised."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

from shared.config import RescanTarget, Settings
from shared.rescan import app_client, make_executor

Check = tuple[str, Callable[[], str]]


def rescan_checks(settings: Settings) -> list[Check]:
    """One check per rescan target; each returns a one-line verdict or raises with the reason."""
    return [(f"rescan {t.name}", lambda t=t: check_target(settings, t))
            for t in settings.rescan_targets.values()]


def check_target(settings: Settings, target: RescanTarget) -> str:
    if target.kind == "immich":
        return check_api(app_client(target).check(target.app.library_id))
    if target.kind == "photoprism" and target.app.mode == "api":
        return check_api(app_client(target).check())
    if target.executor.kind == "local":
        if target.kind == "command":
            return _on_path(target.command[0])
        program = target.app.occ[0] if target.kind == "nextcloud" else target.app.photoprism[0]
        return _on_path(program)
    executor = make_executor(settings, target)
    try:
        return check_user(executor, target)
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()


def check_user(executor: Any, target: RescanTarget) -> str:
    """Run `id` in the container as the configured user: proves the container is there and
    that the user exists in it (occ refuses to run as anyone but the web server user)."""
    user = target.executor.user
    if user.isdigit():
        return _check_uid(executor, user)
    result = executor.run(("id", "-un"), 30, user=user) if user else \
        executor.run(("id", "-un"), 30)
    if not result.ok:
        raise RuntimeError(f"{executor.describe()}: `id -un` as {user or 'the default user'} "
                           f"failed: {_output(result)}")
    name = result.stdout.strip()
    if user and user != name:
        raise RuntimeError(f"{executor.describe()}: commands run as {name}, not {user}")
    return f"{executor.describe()} found; commands run as {name}"


def _check_uid(executor: Any, uid: str) -> str:
    """A numeric `user = "1000"` needs no passwd entry: `docker exec -u 1000` runs as that uid
    all the same (and so do the scans), where `id -un` would fail with "unknown ID 1000"."""
    result = executor.run(("id", "-u"), 30, user=uid)
    if not result.ok:
        raise RuntimeError(f"{executor.describe()}: `id -u` as uid {uid} failed: "
                           f"{_output(result)}")
    if result.stdout.strip() != uid:
        raise RuntimeError(f"{executor.describe()}: commands run as uid "
                           f"{result.stdout.strip()}, not {uid}")
    named = executor.run(("id", "-un"), 30, user=uid)
    shown = named.stdout.strip() if named.ok and named.stdout.strip() else \
        f"uid {uid} (no user name in the container)"
    return f"{executor.describe()} found; commands run as {shown}"


def _output(result: Any) -> str:
    return " ".join((result.stderr or result.stdout).strip()[-200:].split())


def check_api(verdict: Any) -> str:
    """A `Verdict` of shared.rescan.clients as a doctor line."""
    if not verdict.ok:
        raise RuntimeError(verdict.message)
    return verdict.message


def _on_path(program: str) -> str:
    if "/" in program:  # a path: PATH is not searched, so say what is wrong with the file
        if not os.path.exists(program):
            raise FileNotFoundError(f"{program} does not exist")
        if os.path.isdir(program) or not os.access(program, os.X_OK):
            raise PermissionError(f"{program} is not executable")
        return f"{program} found"
    found = shutil.which(program)
    if not found:
        raise FileNotFoundError(f"{program!r} is not on PATH")
    return f"{found} found"
