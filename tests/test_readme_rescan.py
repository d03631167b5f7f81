"""The README's rescan-kind section documents every key shared/config/rescan.py reads."""

from __future__ import annotations

import ast

from shared.config.rescan import EXECUTORS, KINDS
from tests.docs_helpers import REPO, readme


def rescan_keys() -> set[str]:
    tree = ast.parse((REPO / "shared" / "config" / "rescan.py").read_text(encoding="utf-8"))
    keys = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        args = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        named = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if named in ("get", "choice") and args and node.args[0] is args[0]:
            keys.add(args[0].value)
        elif named == "_argv" and len(node.args) > 1 and node.args[1] in args:
            keys.add(node.args[1].value)  # type: ignore[attr-defined]
    return keys


def test_every_rescan_key_kind_and_executor_is_in_the_readme() -> None:
    text = readme()
    keys = rescan_keys()
    assert {"kind", "executor", "nextcloud_user", "library_id", "docker_command"} <= keys
    for key in sorted(keys):
        assert f"| `{key}` |" in text, f"rescan key {key} is not in the README's table"
    for name in KINDS + EXECUTORS:
        assert f"`{name}`" in text, name
