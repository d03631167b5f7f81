"""Every option of every command says what it does, and `mediacourier --help` what the tool is."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from tests.e2e.harness import REPO
from workers.cli import build_parser


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {"mediacourier": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update({f"mediacourier {name}": sub for name, sub in action.choices.items()})
    return found


def test_every_option_and_argument_has_a_help_text() -> None:
    # Given the parser of every command
    missing = []
    for name, parser in commands(build_parser()).items():
        # When each of its options and arguments is looked at
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            # Then it has a help text (that is not an empty string)
            if not (action.help or "").strip():
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_help_says_in_one_sentence_what_the_tool_is_and_lists_the_exit_codes() -> None:
    # When `mediacourier --help` runs
    done = subprocess.run([sys.executable, "-m", "workers.cli", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env={"COLUMNS": "200"})

    # Then its description is one sentence about photos and libraries, and the codes follow
    assert done.returncode == 0, done.stderr
    description = done.stdout.split("\n\n")[1].strip()
    assert description.startswith("mediacourier carries photos and videos")
    assert description.count(".") == 1 and description.endswith(".")
    assert "3 refused by a guard" in done.stdout and "4 connection error" in done.stdout


def test_verbose_and_config_are_taken_after_the_command_too() -> None:
    # When -v and --config come after the command name
    args = build_parser().parse_args(["status", "-v", "--config", "x.toml"])
    before = build_parser().parse_args(["-v", "--config", "y.toml", "status"])

    # Then they count as if given before it, and before it they are kept
    assert args.verbose is True and args.config == "x.toml"
    assert before.verbose is True and before.config == "y.toml"


@pytest.mark.parametrize("argv, says", [
    (["sync", "inbox", "--workers", "0"], "mediacourier sync: argument --workers: 0 is not a "
                                          "positive number (see mediacourier sync --help)"),
    (["history", "--format", "xml"], "mediacourier history: argument --format: invalid choice"),
    ([], "mediacourier: the following arguments are required: COMMAND"),
])
def test_a_usage_error_is_one_line_with_exit_2(capsys: pytest.CaptureFixture[str],
                                               argv: list[str], says: str) -> None:
    # When the command line is wrong
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)

    # Then it exits 2 with one line naming the error and where the help is, no usage block
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(says) and line.endswith("--help)")
