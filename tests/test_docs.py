"""The README, the docs site and the example configurations agree with the code."""

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
    config_schema,
    doc,
    load_localised,
    mediacourier_subcommands,
    readme,
    site_text,
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


def documented_keys(page: str) -> dict[str, set[str]]:
    """{table: keys} of the reference tables of a page: the first column of every table row
    under `## Top-level keys`, `## `[security]`` and `## `[section.NAME]``."""
    keys: dict[str, set[str]] = {}
    table = None
    for line in page.splitlines():
        if line.startswith("## "):
            named = re.match(r"## `\[(\w+)(?:\.NAME)?\]`", line)
            table = "top" if line == "## Top-level keys" else named.group(1) if named else None
        elif table and line.startswith("| `"):
            first = line.split("|")[1]
            keys.setdefault(table, set()).update(re.findall(r"`([a-z_]+)`", first))
    return keys


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


def test_full_example_sets_every_key_and_is_in_the_reference(tmp_path: Path) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    for key in sorted(config_schema(tmp_path / "probe")["top"]):
        assert re.search(rf"^\s*{key}\s*=", text, re.M), f"{key} missing from {EXAMPLE_CONFIG}"
    _, settings = load_localised(EXAMPLE_CONFIG, tmp_path)
    assert settings.rescan_targets and settings.schedules
    assert {"move", "copy"} == {s.mode for s in settings.sources.values()}
    assert any(s.cron for s in settings.schedules.values())
    assert any(s.every_seconds for s in settings.schedules.values())
    assert text.strip() in doc("configuration"), (
        "the full example in docs/configuration.md differs from the file")


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


def test_the_reference_documents_every_config_key_and_no_other(tmp_path: Path) -> None:
    # Given every key the loader reads, per table, and the keys of the configuration reference
    schema = config_schema(tmp_path / "probe")
    documented = documented_keys(doc("configuration"))
    # Then every table is documented, with exactly the keys the loader knows
    assert set(documented) == set(schema), "tables documented in docs/configuration.md"
    for table, keys in sorted(schema.items()):
        missing, unknown = keys - documented[table], documented[table] - keys
        assert not missing, f"[{table}]: keys not documented in docs/configuration.md: {missing}"
        assert not unknown, f"[{table}]: documented keys the loader does not read: {unknown}"


def test_the_reference_documents_every_override_and_policy() -> None:
    text = doc("configuration")
    for section in SECTIONS:
        assert f"[{section}.NAME]" in text, section
    for key in environment_override_keys():
        assert f"MEDIACOURIER_{key.upper()}" in text, key
    assert "MEDIACOURIER_CONFIG" in text
    for policy in DUPLICATE_POLICIES:
        assert f"`{policy}`" in doc("layouts"), policy
    # The paragraph of overrides names each one once (it once listed some twice, in a fragment)
    overrides = text[text.index("**Environment overrides.**"):text.index("**Durations.**")]
    for key in environment_override_keys():
        assert overrides.count(f"MEDIACOURIER_{key.upper()}`") == 1, key


def test_the_layouts_page_documents_layouts_and_placeholders() -> None:
    text = doc("layouts")
    for alias, template in layout.LAYOUT_ALIASES.items():
        assert f"`{alias}`" in text and f"`{template}`" in text, alias
    for field in layout.FIELDS:
        assert f"{{{field}}}" in text, field
    assert "{folder}" in doc("rescans") and "{rel_folder}" in doc("rescans")


def test_the_layouts_page_lists_the_default_ignore_rules_and_extensions() -> None:
    lowered = doc("layouts").lower()
    for ext in ignore.MEDIA_EXTENSIONS | ignore.SIDECAR_EXTENSIONS:
        assert mentions(lowered, ext), f"extension {ext} is not in the README"
    for suffix in ignore.TEMPORARY_SUFFIXES:
        assert f"`{suffix}`" in lowered, suffix
    for name in ignore.CLUTTER_FILES | ignore.CLUTTER_DIRS:
        assert name in lowered, name
    for fs_type in fsdetect.NETWORK_FS_TYPES:
        assert mentions(doc("troubleshooting").lower(), fs_type), fs_type


def test_the_docs_name_real_commands_and_tasks(celery_side: dict[str, Any]) -> None:
    text = site_text()
    for sub in mediacourier_subcommands():
        assert f"mediacourier {sub}" in text, sub
    # (a name followed by ".word" is a queue such as mediacourier.nas.files, not a task)
    named = set(re.findall(r"(?<![\w-])mediacourier\.[a-z_]+(?![a-z_]|\.[a-z])", text))
    # (mediacourier.files is the logger of the per-file lines in the examples of Logs)
    for task in named - {"mediacourier.toml", "mediacourier.example", "mediacourier.files"}:
        assert task in celery_side["tasks"], f"the docs name {task}, which is not a task"
    for name in ("ingest", "reconcile"):
        assert f".venv/bin/celery -A tasks call mediacourier.{name} --args='[" in text
    assert "mediacourier-data/run/redis.url" in text


def test_the_try_it_commands_use_the_dev_forwarder() -> None:
    # After `./dev up` only `./dev mc` (or the activated venv) finds the command: a bare
    # `mediacourier` in the README's try-it steps was "command not found" for a newcomer.
    text = readme()
    try_it = text[text.index("## Try it"):text.index("## Guarantees")]
    commands = [line.split("#", 1)[0].strip() for language, block in fenced_blocks(try_it)
                if language in ("", "sh", "bash") for line in block.splitlines()]
    assert "./dev mc status" in commands and "./dev mc history" in commands
    assert not [c for c in commands if c.startswith(("mediacourier ", "celery "))], commands
    assert len(text.splitlines()) <= 300, "the README is the front door; the reference is docs/"
