"""Which deployment a command belongs to: the configuration (or the default configuration's data
dir) found in a documented order, so that `mediacourier status` run from any folder reads the
deployment `mediacourier up` runs, and a read-only command never creates one.

The order (the first that exists wins):
  1. --config FILE
  2. $MEDIACOURIER_CONFIG
  3. ./mediacourier.toml
  4. $MEDIACOURIER_DATA_DIR, else ./mediacourier-data: the data dir of the default configuration
  5. $XDG_CONFIG_HOME/mediacourier/mediacourier.toml (~/.config/mediacourier/mediacourier.toml)
  6. the deployment `mediacourier up` last started on this machine, remembered in
     $XDG_STATE_HOME/mediacourier/deployment.json (~/.local/state/mediacourier/...), so that
     `./dev mc status` finds what `./dev up` runs from any folder
`up` itself stops after 5: started in a new folder it is the zero-configuration start. A command
that writes falls back to the default configuration in the current folder; a read-only one says
where it looked and exits 2.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.config import Settings, load_settings
from shared.errors import ConfigError

CONFIG_NAME = "mediacourier.toml"
DATA_NAME = "mediacourier-data"
READ_ONLY = frozenset({"status", "history", "queues", "queue", "doctor", "trace", "conflicts"})


@dataclass(frozen=True)
class Found:
    """Where a deployment was found: a config file, or a data dir of the default configuration."""

    config: Path | None
    data_dir: Path | None
    how: str


def user_config(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "mediacourier" / CONFIG_NAME


def remembered_file(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_STATE_HOME") or str(
        Path(env.get("HOME", "~")).expanduser() / ".local" / "state")
    return Path(base) / "mediacourier" / "deployment.json"


def _is_data_dir(path: Path) -> bool:
    """A data dir a deployment ran in: the default configuration's folders are there."""
    return all((path / sub).is_dir() for sub in ("inbox", "library"))


def _remembered(env: Mapping[str, str]) -> Found | None:
    state = remembered_file(env)
    try:
        saved = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict):
        return None
    config, data_dir = saved.get("config"), saved.get("data_dir")
    how = f"the deployment `mediacourier up` last started ({state})"
    if isinstance(config, str) and Path(config).is_file():
        return Found(Path(config), None, how)
    if config is None and isinstance(data_dir, str) and _is_data_dir(Path(data_dir)):
        return Found(None, Path(data_dir), how)
    return None  # that deployment is gone: its file or folder was removed


def find_deployment(cli_config: str | None, env: Mapping[str, str], cwd: Path,
                    command: str) -> Found | None:
    """The first deployment in the documented order, or None."""
    if cli_config:
        return Found(Path(cli_config), None, "--config")
    if env.get("MEDIACOURIER_CONFIG"):
        return Found(Path(env["MEDIACOURIER_CONFIG"]), None, "$MEDIACOURIER_CONFIG")
    if (cwd / CONFIG_NAME).is_file():
        return Found(cwd / CONFIG_NAME, None, f"./{CONFIG_NAME}")
    data_dir = Path(env["MEDIACOURIER_DATA_DIR"]) if env.get("MEDIACOURIER_DATA_DIR") \
        else cwd / DATA_NAME
    if _is_data_dir(data_dir):
        return Found(None, data_dir.absolute(), str(data_dir))
    if user_config(env).is_file():
        return Found(user_config(env), None, str(user_config(env)))
    if command == "up":
        return None
    return _remembered(env)


def nowhere_line(env: Mapping[str, str]) -> str:
    return ("no mediacourier deployment found: looked for --config, $MEDIACOURIER_CONFIG, "
            f"./{CONFIG_NAME}, ./{DATA_NAME}, {user_config(env)} and the deployment "
            f"`mediacourier up` last started ({remembered_file(env)}); point to one with "
            "--config FILE or MEDIACOURIER_CONFIG=FILE")


def load_deployment(cli_config: str | None, command: str, env: Mapping[str, str] | None = None,
                    cwd: Path | None = None) -> Settings:
    """The settings of the deployment this command belongs to. Read-only commands (READ_ONLY)
    raise ConfigError when there is none, instead of creating the default one here."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    found = find_deployment(cli_config, env, cwd, command)
    if found is None:
        if command in READ_ONLY:
            raise ConfigError(nowhere_line(env))
        return load_settings(None, env, cwd)  # the zero-configuration start, here
    if found.config is not None:
        return load_settings(str(found.config), env, cwd)
    # The default configuration of that data dir (its folders exist: nothing is created).
    return load_settings(None, {**env, "MEDIACOURIER_DATA_DIR": str(found.data_dir)}, cwd)


def remember_deployment(settings: Settings, env: Mapping[str, str] | None = None) -> None:
    """Note (for commands run from elsewhere) which deployment `up` started; best effort: a
    read-only home only loses the convenience."""
    env = os.environ if env is None else env
    state = remembered_file(env)
    config = str(Path(settings.config_path).absolute()) if settings.config_path else None
    text = json.dumps({"config": config, "data_dir": str(Path(settings.data_dir).absolute())})
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a command reading it never sees half a file.
        with tempfile.NamedTemporaryFile("w", dir=state.parent, delete=False,
                                         prefix=".deployment-") as tmp:
            tmp.write(text + "\n")
        os.replace(tmp.name, state)
    except OSError:
        pass


def celery_environment(cli_config: str | None, env: Mapping[str, str],
                       cwd: Path) -> dict[str, str]:
    """The environment for `celery -A tasks …` (`./dev celery`): the found deployment's config
    or data dir, so that Celery builds the app of the deployment that runs."""
    found = find_deployment(cli_config, env, cwd, "celery")
    if found is None:
        raise ConfigError(nowhere_line(env))
    extra = {"MEDIACOURIER_CONFIG": str(found.config.absolute())} if found.config else \
        {"MEDIACOURIER_DATA_DIR": str(found.data_dir)}
    return {**env, **extra}


def exec_celery(argv: list[str]) -> int:
    """`./dev celery ARGS`: `celery -A tasks ARGS` for the deployment found from here."""
    try:
        env = celery_environment(None, os.environ, Path.cwd())
    except ConfigError as exc:
        print(f"mediacourier: {exc}", file=sys.stderr)
        return 2
    os.execve(sys.executable, [sys.executable, "-m", "celery", "-A", "tasks", *argv], env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(exec_celery(sys.argv[1:]))
