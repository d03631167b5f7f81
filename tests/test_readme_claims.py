"""What the README and the docs site say about behaviour, checked against the code: queue names,
time limits, Flower authentication, rescan commands, default schedules, `sync` options, dev
packages, and the README's guarantees. Phrases are compared with whitespace folded, so that
rewrapping a paragraph does not matter."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings, build_settings
from shared.config.checks import LOOPBACK
from shared.errors import ConfigError
from tests.docs_helpers import CELERY_SIDE_PREFIX, EXAMPLE_CONFIG, REPO, doc, readme, site_text
from workers import exit_codes
from workers.cli import build_parser

# -- statements of the docs checked against the code ------------------------------------------


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def says(text: str, phrase: str) -> bool:
    return flat(phrase) in flat(text)


def minimal_config(root: Path, **top: Any) -> dict[str, Any]:
    (root / "in").mkdir(exist_ok=True)
    (root / "lib").mkdir(exist_ok=True)
    return {**top, "sources": {"in": {"path": "in", "library": "lib"}},
            "libraries": {"lib": {"path": "lib"}}}


def load_minimal(root: Path, **top: Any) -> Settings:
    return build_settings(minimal_config(root, **top), root / "mediacourier.toml", root)


def test_the_queue_is_named_after_key_prefix(celery_side: dict[str, Any]) -> None:
    assert celery_side["queue"] == CELERY_SIDE_PREFIX
    text = site_text() + EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert says(doc("index"), "queue named <key_prefix>")
    assert says(doc("several-machines"), "one queue, `<key_prefix>`")
    for stale in ("always `mediacourier`", 'always named "mediacourier"', "queue is always",
                  "different Redis databases, not"):
        assert not says(text, stale), f"stale advice about the queue name: {stale!r}"


def test_time_limit_figures_match_the_code(tmp_path: Path, celery_side: dict[str, Any]) -> None:
    text = flat(site_text())
    assert celery_side["time_limit"] == Settings(data_dir=tmp_path).task_time_limit == 1800
    assert load_minimal(tmp_path).task_time_limit == 1800 and "1,800 s" in text
    # Three quarters of a shorter visibility timeout; equal or above it is refused.
    assert load_minimal(tmp_path, visibility_timeout=2000).task_time_limit == 1500
    assert load_minimal(tmp_path, visibility_timeout=2400).task_time_limit == 1800
    assert "three quarters of `visibility_timeout` when that is shorter than 2,400 s" in text
    for limit in (3600, 4000):
        with pytest.raises(ConfigError, match="task_time_limit"):
            load_minimal(tmp_path, task_time_limit=limit, visibility_timeout=3600)
    # The soft limit: `hard - min(30, hard // 10 + 1)`, 30 s before the default.
    for hard, soft in celery_side["soft_of"].items():
        assert soft == max(1, int(hard) - min(30, int(hard) // 10 + 1)), hard
    assert celery_side["time_limit"] - celery_side["soft_limit"] == 30
    assert "`min(30, task_time_limit // 10 + 1)`" in text
    # Killed tasks are re-queued; the poison counter stops a message on its sixth delivery.
    assert celery_side["acks_on_timeout"] is False
    assert "`task_acks_on_failure_or_timeout = False`" in text
    assert celery_side["max_deliveries"] == 5
    assert "delivered more than 5 times" in text and "delivered a sixth time" in text


def test_flower_beyond_loopback_needs_basic_auth(tmp_path: Path) -> None:
    text = flat(doc("monitoring"))
    for address in LOOPBACK:
        assert f"`{address}`" in text, address
        assert load_minimal(tmp_path, flower_address=address).flower_basic_auth == ""
    with pytest.raises(ConfigError, match="flower_basic_auth"):
        load_minimal(tmp_path, flower_address="0.0.0.0")
    assert load_minimal(tmp_path, flower_address="0.0.0.0", flower_basic_auth="a:b")
    from workers.up import Supervisor

    settings = load_minimal(tmp_path, flower_address="0.0.0.0", flower_basic_auth="a:secret")
    supervisor = Supervisor(settings)
    assert supervisor.environment("redis://x")["FLOWER_BASIC_AUTH"] == "a:secret"
    assert not any("secret" in arg for child in supervisor.plan() for arg in child.argv)
    assert "`FLOWER_BASIC_AUTH` environment variable" in text
    assert "does not enforce" not in text and "does not refuse" not in (
        EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def test_string_rescan_commands_get_the_folder_as_arguments(tmp_path: Path) -> None:
    raw = minimal_config(tmp_path)
    raw["rescan"] = {"app": {"command": "index {folder} {rel_folder}"}}
    settings = build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    argv = settings.rescan_targets["app"].command
    assert argv == ("sh", "-c", 'index "$1" "$2"', "mediacourier-rescan", "{folder}",
                    "{rel_folder}")
    text = flat(doc("rescans"))
    assert "`sh -c SCRIPT mediacourier-rescan FOLDER REL_FOLDER`" in text
    assert "`{folder}` replaced by `\"$1\"`" in text and "`{rel_folder}` by `\"$2\"`" in text
    for document in (text, EXAMPLE_CONFIG.read_text(encoding="utf-8")):
        assert "pasted in unquoted" not in document and "folder pasted in" not in document, (
            "stale warning about string rescan commands")


def test_every_source_is_reconciled_hourly_by_default(tmp_path: Path) -> None:
    settings = load_minimal(tmp_path)
    assert settings.schedules["in"].every_seconds == 3600
    text = flat(doc("configuration"))
    assert "**Every source is reconciled every hour by default.**" in text
    assert "has no schedules unless" not in flat(site_text())
    raw = minimal_config(tmp_path)
    raw["schedules"] = {"in": {"cron": "0 30 3 * * *"}}
    with pytest.raises(ConfigError, match="five-field"):
        build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    assert "exactly five fields" in text


def test_sync_options_and_exit_codes_are_documented() -> None:
    text = flat(doc("operations"))
    sync = next(a for a in build_parser()._actions
                if isinstance(a, argparse._SubParsersAction)).choices["sync"]
    workers = next(a for a in sync._actions if "--workers" in a.option_strings)
    assert workers.default == 2 * (os.cpu_count() or 1)
    assert "`mediacourier sync SOURCE [--dry-run] [--force] [--workers N]`" in text
    assert "(default: two per CPU" in text
    assert ("1 if any file failed, 2 on a configuration error, 3 when the source or its library "
            "is paused (without `--force`), 4 when Redis cannot be reached") in text
    assert "--force" in sync.format_usage()
    for argv in (["sync", "x", "--workers"], ["history", "--limit"], ["up", "--concurrency"],
                 ["worker", "--concurrency"]):
        assert f"`{argv[-1]}`" in text, argv
        build_parser().parse_args([*argv, "1"])
        with pytest.raises(SystemExit):
            build_parser().parse_args([*argv, "0"])


def test_the_exit_codes_the_docs_state_are_the_codes() -> None:
    # Given the codes every command exits with (workers/exit_codes.py is the truth)
    codes = {exit_codes.FILES_FAILED: "some files failed", exit_codes.CONFIG:
             "configuration or usage error", exit_codes.REFUSED: "refused by a guard",
             exit_codes.CONNECTION: "connection error", exit_codes.INTERNAL: "internal error"}
    # Then the README's guarantee names each code with its meaning
    text = flat(readme())
    for code, meaning in codes.items():
        assert f"{code} {meaning}" in text, (code, meaning)
    # And the one table of docs/operations.md has a row per code, and no row of another code
    page = doc("operations")
    table = page[page.index("## Exit codes"):page.index("## Pause and resume")]
    rows = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert rows == {exit_codes.OK, *codes, exit_codes.INTERRUPTED}, rows


def test_dev_packages_named_in_the_readme() -> None:
    dev = (REPO / "dev").read_text(encoding="utf-8")
    text = flat(doc("setup"))

    def packages(variable: str) -> list[str]:
        # Every assignment counts: `V="a b"`, `V="$V c"` and `V+=" d"` (the list grew by the
        # last form, whose packages the docs had stopped naming)
        found = re.findall(rf'^{variable}\+?="([^"]*)"', dev, re.M)
        assert found, f"dev has no {variable}"
        return [word for value in found for word in value.split() if not word.startswith("$")]

    for variable in ("APT_TEST_PACKAGES", "APT_BENCH_PACKAGES"):
        assert f"`{variable}`" in text, variable
        for package in packages(variable):
            assert f"`{package}`" in text, package
    if "rsync" not in packages("APT_TEST_PACKAGES"):
        assert "`./dev test` does not need `rsync`" in text


def test_every_guarantee_names_a_test_that_exists() -> None:
    # Given the README's Guarantees section
    text = readme()
    section = text[text.index("## Guarantees"):text.index("## Documentation")]
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", section)
    # Then it names tests, and each one is a test function in that file
    assert len(named) >= 20, named
    for path, name in named:
        source = (REPO / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"README names {path}::{name}"
    # And every paragraph of it names at least one test
    bullets = [b for b in section.split("\n- ")[1:]]
    for bullet in bullets:
        assert "`tests/" in bullet, f"a guarantee without its test: {bullet[:80]!r}"
