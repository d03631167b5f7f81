"""Secrets (API keys, tokens) from a file or an environment variable, never from the TOML itself."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from shared.errors import ConfigError


def read_secret(file: str | None, env_var: str | None, where: str,
                env: Mapping[str, str] | None = None, base: Path | None = None) -> str:
    """The secret from `file` (first line, stripped) or else the environment variable `env_var`.

    `where` names the config key for the one-line ConfigError; the secret itself is never in it.
    """
    env = os.environ if env is None else env
    if file:
        path = Path(os.path.expanduser(file))
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read secret file {str(path)!r}: "
                              f"{exc.strerror or exc}") from None
        lines = text.strip().splitlines()
        secret = lines[0].strip() if lines else ""
        if not secret:
            raise ConfigError(f"{where}: secret file {str(path)!r} is empty")
        return secret
    if env_var:
        secret = env.get(env_var, "").strip()
        if not secret:
            raise ConfigError(f"{where}: environment variable {env_var} is not set")
        return secret
    raise ConfigError(f"{where}: give a secret file or an environment variable name")
