"""Every option of every ``neurosim`` verb has help text, and the help of an option with a default
(not ``None``, not ``False``) states it (issue 16: "every option has help text with its default")."""
from __future__ import annotations

import argparse
from typing import Iterator

from neurosim.cli import build_parser


def _options(parser: argparse.ArgumentParser, prog: str = "neurosim") -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{prog} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield prog, action


def _stated(default: object) -> set[str]:
    """Ways a help text may write ``default``."""
    forms = {str(default)}
    if isinstance(default, float):
        forms.add(f"{default:g}")
    return forms


def test_every_option_has_help_stating_its_default():
    seen, missing, no_default = 0, [], []
    for prog, action in _options(build_parser()):
        seen += 1
        name = f"{prog} {'/'.join(action.option_strings) or action.dest}"
        text = (action.help or "").strip()
        if not text or text == argparse.SUPPRESS:
            missing.append(name)
            continue
        text = text % {**vars(action), "prog": prog}  # argparse's own %(default)s expansion
        default = action.default
        if default is None or default is False or default == argparse.SUPPRESS:
            continue
        at = text.find("default")
        if at < 0 or not any(form in text[at:] for form in _stated(default)):
            no_default.append(f"{name} (default {default!r}): {text}")
    assert seen > 100  # every verb's parser was walked
    assert missing == [], missing
    assert no_default == [], no_default


def test_the_check_catches_a_default_left_unsaid():
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--steps", type=int, default=20, help="steps to run")
    parser.add_argument("--rate", type=float, default=0.5, help="rate (default 0.5)")
    (_, steps), (_, rate) = [(p, a) for p, a in _options(parser)]
    assert not any(form in steps.help for form in _stated(steps.default))
    assert any(form in rate.help[rate.help.find("default"):] for form in _stated(rate.default))
