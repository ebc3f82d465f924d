"""Every command and option says what it is for (``--help`` is a newcomer's first manual)."""

from __future__ import annotations

import argparse

from continual_learning.cli.main import build_parser


def _undescribed(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> list[str]:
    missing = []
    for action in parser._actions:  # argparse keeps no public list of a parser's arguments
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _undescribed(sub, (*path, name))
        elif not action.help and action.dest != "help":
            missing.append(" ".join((*path, *(action.option_strings or [action.dest]))))
    return missing


def test_every_option_and_argument_has_help() -> None:
    assert _undescribed(build_parser(), ("continual-learning",)) == []


def test_the_help_names_every_exit_code_and_the_input_formats() -> None:
    import continual_learning.errors as errors

    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.WorkbenchError)
    }
    text = build_parser().format_help()
    listed = text.split("exit codes:")[1]
    assert all(f" {code} " in f" {listed}" for code in codes), listed
    assert '{"id", "doc_id", "question", "answers"' in text and ".jsonl" in text
