"""Flower started by hand (`celery -A tasks flower`) beyond loopback needs credentials."""

from __future__ import annotations

import pytest

from shared.config.flower import celery_subcommand, check_flower_command
from shared.errors import ConfigError

CELERY = ["/venv/bin/celery", "-A", "tasks"]
PY_M = ["/venv/lib/python3.11/site-packages/celery/__main__.py", "-A", "tasks"]


def test_the_subcommand_is_found_only_in_celery_command_lines() -> None:
    assert celery_subcommand([*CELERY, "flower", "--port=5555"]) == "flower"
    assert celery_subcommand([*PY_M, "-b", "redis://x", "worker", "-n", "flower"]) == "worker"
    assert celery_subcommand(["/venv/bin/mediacourier", "resume", "source", "flower"]) is None
    assert celery_subcommand([]) is None


@pytest.mark.parametrize("argv, env", [
    ([*CELERY, "flower", "--address=127.0.0.1"], {}),
    ([*CELERY, "flower", "--address", "::1"], {}),
    ([*CELERY, "flower"], {"FLOWER_ADDRESS": "localhost"}),
    ([*CELERY, "flower", "--address=0.0.0.0"], {"FLOWER_BASIC_AUTH": "a:b"}),
    ([*PY_M, "flower", "--address=0.0.0.0", "--basic_auth=a:b"], {}),
    ([*CELERY, "flower", "--unix-socket=/run/flower.sock"], {}),
    ([*CELERY, "worker", "--hostname", "flower@%h"], {}),
])
def test_allowed(argv: list[str], env: dict[str, str]) -> None:
    check_flower_command(argv, env)


@pytest.mark.parametrize("argv, env, where", [
    ([*CELERY, "flower"], {}, "every interface"),
    ([*PY_M, "flower", "--port=5555"], {"FLOWER_ADDRESS": "0.0.0.0"}, "'0.0.0.0'"),
    ([*CELERY, "flower", "--address", "192.168.1.5"], {}, "'192.168.1.5'"),
])
def test_refused_without_credentials(argv: list[str], env: dict[str, str], where: str) -> None:
    with pytest.raises(ConfigError, match=f"Flower would listen on {where}.*FLOWER_BASIC_AUTH"):
        check_flower_command(argv, env)
