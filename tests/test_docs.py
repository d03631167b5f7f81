"""The README and the example configurations agree with the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from shared.config import DUPLICATE_POLICIES
from shared.media import ignore, layout
from shared.source import fsdetect
from tests.docs_helpers import (
    COMPOSE_CONFIG,
    EXAMPLE_CONFIG,
    REPO,
    SECTIONS,
    load_localised,
    mediacourier_subcommands,
    readme,
)

# -- helpers ---------------------------------------------------------------------------------


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every ``` block."""
    blocks, language, body = [], None, []
    for line in markdown.splitlines():
        if line.startswith("```"):
            if language is None:
                language, body = line[3:].strip(), []
            else:
                blocks.append((language, "\n".join(body)))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


def mentions(text: str, word: str) -> bool:
    """`word` appears on its own, not as part of a longer name."""
    return re.search(rf"(?<![\w.]){re.escape(word)}(?![\w])", text) is not None


def config_keys() -> set[str]:
    """Every top-level key shared/config/load.py reads: `.get("key"…)`, `.choice`, `.strings`."""
    tree = ast.parse((REPO / "shared" / "config" / "load.py").read_text(encoding="utf-8"))
    keys = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "choice", "strings")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
    return keys - set(SECTIONS)


def environment_override_keys() -> list[str]:
    tree = ast.parse((REPO / "shared" / "config" / "load.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_environment_overrides":
            for loop in ast.walk(node):
                if isinstance(loop, ast.For) and isinstance(loop.iter, ast.Tuple):
                    return [element.value for element in loop.iter.elts]
    raise AssertionError("shared.config.load._environment_overrides has no key tuple")


# -- example configurations ------------------------------------------------------------------


@pytest.mark.parametrize("original", [COMPOSE_CONFIG, EXAMPLE_CONFIG], ids=lambda p: p.name)
def test_example_configs_load(original: Path, tmp_path: Path) -> None:
    _, settings = load_localised(original, tmp_path)
    assert settings.sources and settings.libraries
    for folder in [s.path for s in settings.sources.values()] + [
        lib.path for lib in settings.libraries.values()
    ]:
        assert str(folder).startswith(str(tmp_path)), folder


def test_full_example_sets_every_key_and_is_in_the_readme(tmp_path: Path) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    for key in sorted(config_keys()):
        assert re.search(rf"^\s*{key}\s*=", text, re.M), f"{key} missing from {EXAMPLE_CONFIG}"
    _, settings = load_localised(EXAMPLE_CONFIG, tmp_path)
    assert settings.rescan_targets and settings.schedules
    assert {"move", "copy"} == {s.mode for s in settings.sources.values()}
    assert any(s.cron for s in settings.schedules.values())
    assert any(s.every_seconds for s in settings.schedules.values())
    assert text.strip() in readme(), "the README's full example differs from the file"


# -- README ----------------------------------------------------------------------------------


def test_readme_has_exactly_the_two_setup_commands() -> None:
    text = readme()
    assert "./dev up" in text and "./dev test" in text
    commands = [
        [line.split("#", 1)[0].strip() for line in block.splitlines()
         if line.split("#", 1)[0].strip()]
        for language, block in fenced_blocks(text) if language in ("", "sh", "bash")
    ]
    assert ["./dev up", "./dev test"] in commands


def test_ci_runs_the_readme_test_command() -> None:
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert any(re.fullmatch(r"(exec )?\./dev test", line) for line in lines), lines
    dev = (REPO / "dev").read_text()
    assert re.search(r"^\s*up\)", dev, re.M) and re.search(r"^\s*test\)", dev, re.M)


def test_readme_documents_every_config_key_and_override() -> None:
    text = readme()
    for key in sorted(config_keys()):
        assert f"`{key}`" in text, f"config key {key} is not in the README"
    for section in SECTIONS:
        assert f"[{section}.NAME]" in text, section
    for key in environment_override_keys():
        assert f"MEDIACOURIER_{key.upper()}" in text, key
    assert "MEDIACOURIER_CONFIG" in text
    for policy in DUPLICATE_POLICIES:
        assert f"`{policy}`" in text, policy


def test_readme_documents_layouts_and_placeholders() -> None:
    text = readme()
    for alias, template in layout.LAYOUT_ALIASES.items():
        assert f"`{alias}`" in text and f"`{template}`" in text, alias
    for field in layout.FIELDS:
        assert f"{{{field}}}" in text, field
    assert "{folder}" in text and "{rel_folder}" in text


def test_readme_lists_the_default_ignore_rules_and_extensions() -> None:
    lowered = readme().lower()
    for ext in ignore.MEDIA_EXTENSIONS | ignore.SIDECAR_EXTENSIONS:
        assert mentions(lowered, ext), f"extension {ext} is not in the README"
    for suffix in ignore.TEMPORARY_SUFFIXES:
        assert f"`{suffix}`" in lowered, suffix
    for name in ignore.CLUTTER_FILES | ignore.CLUTTER_DIRS:
        assert name in lowered, name
    for fs_type in fsdetect.NETWORK_FS_TYPES:
        assert mentions(lowered, fs_type), fs_type


def test_readme_names_real_commands_and_tasks(celery_side: dict[str, Any]) -> None:
    text = readme()
    for sub in mediacourier_subcommands():
        assert f"mediacourier {sub}" in text, sub
    # (a name followed by ".word" is a queue such as mediacourier.nas.files, not a task)
    named = set(re.findall(r"(?<![\w-])mediacourier\.[a-z_]+(?![a-z_]|\.[a-z])", text))
    for task in named - {"mediacourier.toml", "mediacourier.example"}:
        assert task in celery_side["tasks"], f"the README names {task}, which is not a task"
    for name in ("ingest", "reconcile"):
        assert f".venv/bin/celery -A tasks call mediacourier.{name} --args='[" in text
    assert "mediacourier-data/run/redis.url" in text
