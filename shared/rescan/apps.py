"""One rescan of one folder, per target kind: the generic command, Nextcloud (files:scan, then
Memories), PhotoPrism (CLI or REST) and Immich (REST, whole library)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from shared.config import RescanTarget, app_path
from shared.executors import CommandExecutor, CommandResult
from shared.rescan.clients import ImmichClient, PhotoPrismClient
from shared.rescan.output import (
    OK,
    PERMANENT,
    RETRY,
    ScanOutcome,
    command_outcome,
    files_scan_outcome,
    memories_outcome,
    photoprism_outcome,
)
from shared.secrets import read_secret


def not_an_option(value: str) -> str:
    """A folder argument no program can take for an option: a folder named `--cleanup` goes
    as `./--cleanup` (the same folder), for programs whose `--` handling is unknown."""
    return f"./{value}" if value.startswith("-") else value


def render(command: tuple[str, ...], folder: str, library_root: str) -> tuple[str, ...]:
    """The configured command with the folder filled in; an argument that begins with a folder
    name is made safe from being read as an option (see not_an_option)."""
    rel = relative_folder(folder, library_root)
    rendered = []
    for part in command:
        text = part.replace("{folder}", folder).replace("{rel_folder}", rel)
        rendered.append(not_an_option(text) if part.startswith(("{folder}", "{rel_folder}"))
                        else text)
    return tuple(rendered)


def relative_folder(folder: str, library_root: str) -> str:
    rel = os.path.relpath(folder, library_root) if library_root else folder
    return "" if rel == "." else rel


USER_FROM_PATH = "{user}"  # nextcloud_user: the first folder of each path is its user


def nextcloud_user(target: RescanTarget, rel: str) -> tuple[str, str]:
    """(the user, the folder inside their `files/`) of a library-relative folder. With
    `nextcloud_user = "{user}"` the library holds a folder per user (a nextcloud source laid
    out `{user}/...`): `alice/2024` is alice's `files/<prefix>/2024`, and, with no prefix,
    `alice/files/Photos` (a library that is the data directory itself) her `files/Photos`.
    The library's root (folders of several users collapsed) has no user: ("", "")."""
    if target.app.nextcloud_user != USER_FROM_PATH:
        return target.app.nextcloud_user, app_path(target.app.files_prefix, rel)
    user, _, rest = rel.partition("/")
    if not target.app.files_prefix and (rest == "files" or rest.startswith("files/")):
        return user, rest.partition("/")[2]
    return user, app_path(target.app.files_prefix, rest) if user else ""


def nextcloud_path(target: RescanTarget, rel: str) -> str:
    """`/<user>/files/<prefix>/<rel>`: what `files:scan --path` wants."""
    user, inside = nextcloud_user(target, rel)
    return "/" + "/".join(part for part in (user, "files", inside) if part)


def nextcloud_commands(target: RescanTarget, rel: str) -> list[tuple[str, ...]]:
    """files:scan for the folder, then (optionally) memories:index for the same folder."""
    occ = target.app.occ
    user, inside = nextcloud_user(target, rel)
    if not user:  # every user's folders: `--all`, and Memories indexes every user
        return [(*occ, "files:scan", "-n", "--all"),
                *([(*occ, "memories:index", "-n")] if target.app.memories else [])]
    # One argv element for the path: folder names with spaces must not split, and a folder
    # named `--all` stays the value of --path. memories' folder always starts with '/'.
    commands = [(*occ, "files:scan", "-n", f"--path={nextcloud_path(target, rel)}")]
    if target.app.memories:
        commands.append((*occ, "memories:index", "-n", "-u", user, "--folder", "/" + inside))
    return commands


def photoprism_command(target: RescanTarget, rel: str) -> tuple[str, ...]:
    sub = app_path(target.app.files_prefix, rel)
    # `--` ends PhotoPrism's options (Go's flag parsing): a folder named `--cleanup` is a
    # folder, not the option that removes index entries.
    return (*target.app.photoprism, "index", *(["--", sub] if sub else []))


def scan_folder(target: RescanTarget, executor: CommandExecutor, folder: str,
                library_root: str, clients: dict[str, Any] | None = None) -> ScanOutcome:
    """Tell the target's app about one folder; executor errors propagate to the caller."""

    rel = relative_folder(folder, library_root)

    def run(argv: tuple[str, ...]) -> CommandResult:
        user = target.executor.user
        if not user:  # executors written before `user` existed still work
            return executor.run(argv, target.timeout_seconds)
        return executor.run(argv, target.timeout_seconds, user=user)

    if target.kind == "command":
        return command_outcome(run(render(target.command, folder, library_root)))
    if target.kind == "nextcloud":
        scan, *memories = nextcloud_commands(target, rel)
        outcome = files_scan_outcome(run(scan))
        if not outcome.ok or not memories:
            return outcome
        # Memories reads Nextcloud's file cache: only now does it know the new files.
        after = memories_outcome(run(memories[0]))
        counts = {**outcome.counts, **{f"memories_{k}": v for k, v in after.counts.items()}}
        return ScanOutcome(after.status, after.message, counts, after.exit_code)
    if target.kind == "photoprism" and target.app.mode == "cli":
        return photoprism_outcome(run(photoprism_command(target, rel)))
    client = (clients if clients is not None else {}).get(target.name) or app_client(target)
    if clients is not None:
        clients[target.name] = client
    if target.kind == "photoprism":
        return from_app_result(client.index(app_path(target.app.files_prefix, rel)))
    return from_app_result(client.scan_library(target.app.library_id))


def from_app_result(result: Any) -> ScanOutcome:
    """An `AppResult` of shared.rescan.clients as a ScanOutcome."""
    status = OK if result.ok else RETRY if result.retry else PERMANENT
    return ScanOutcome(status, "" if result.ok else f"HTTP {result.status}: {result.message}",
                       {"http_status": result.status} if result.status else {})


def app_client(target: RescanTarget, env: Mapping[str, str] | None = None) -> Any:
    """The REST client for an `api` PhotoPrism or an Immich target (shared.rescan.clients)."""
    where, app = f"rescan.{target.name}", target.app
    if target.kind == "photoprism":
        token = read_secret(app.token_file, app.token_env, f"{where}.token", env)
        return PhotoPrismClient(app.url, token, timeout=target.timeout_seconds)
    key = read_secret(app.api_key_file, app.api_key_env, f"{where}.api_key", env)
    return ImmichClient(app.url, key)
