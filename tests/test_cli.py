"""The command line's front door: every command is registered by the module COMMANDS names."""

from __future__ import annotations

import argparse

import pytest

from mscfm.cli import COMMANDS, main, make_parser


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


def test_full_parser_has_exactly_the_mapped_commands() -> None:
    assert _choices(make_parser()) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_is_registered_by_its_own_module(command: str) -> None:
    assert command in _choices(make_parser(command))


def test_unknown_command_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err
