"""The command line's own error (neurosim.cli.errors.UsageError) and how ``neurosim`` reports
errors: a usage error or any library error a user can fix is one line on stderr, exit code 2; an
interrupt exits 130; anything else is a bug and is not disguised as a user error."""
from __future__ import annotations

import sys
import types

import pytest

from neurosim import cli
from neurosim.cli import main
from neurosim.cli.errors import UsageError
from neurosim.errors import CapacityError, InputError, NeurosimError


def test_usage_error_is_a_neurosim_value_error():
    assert issubclass(UsageError, NeurosimError) and issubclass(UsageError, ValueError)
    assert not issubclass(UsageError, InputError)  # the library never raises it


@pytest.fixture
def boom_command(monkeypatch):
    """Register a single command ``boom`` whose run raises what the test puts in ``raised``."""
    raised = []

    def run(args):
        raise raised[0]

    def register(subparsers):
        p = subparsers.add_parser("boom", help="raise an error")
        p.set_defaults(func=run)

    module = types.ModuleType("fake_boom_cmd")
    module.register = register
    monkeypatch.setitem(sys.modules, "fake_boom_cmd", module)
    monkeypatch.setattr(cli, "COMMANDS", {"boom": "fake_boom_cmd"})
    return raised


@pytest.mark.parametrize("exc", [
    UsageError("argument --x: out of range (got 5, expected <= 1)"),
    InputError("dictionary file 'D.npy': not found (expected an existing .npy file)"),
    CapacityError("core 0", "max_in_axons", 12, 8),
])
def test_errors_a_user_can_fix_are_one_line_and_exit_2(boom_command, capsys, exc):
    boom_command.append(exc)
    assert main(["boom"]) == 2
    cap = capsys.readouterr()
    assert cap.err == f"neurosim boom: error: {exc}\n" and cap.out == ""


def test_an_interrupt_exits_130(boom_command, capsys):
    boom_command.append(KeyboardInterrupt())
    assert main(["boom"]) == 130
    assert capsys.readouterr().err == "neurosim boom: interrupted\n"


def test_a_bug_is_not_reported_as_a_usage_error(boom_command):
    boom_command.append(ZeroDivisionError("a bug"))
    with pytest.raises(ZeroDivisionError, match="a bug"):
        main(["boom"])


def test_a_real_usage_error_from_a_command(capsys):
    assert main(["denoise", "--sigma", "2"]) == 2
    assert capsys.readouterr().err == (
        "neurosim denoise: error: argument --sigma: out of range (got 2.0, expected 0 < sigma < 1)\n")


# -- output cut short by the reader (issue 16) ---------------------------------------------------
def test_a_closed_pipe_ends_quietly_without_a_traceback():
    """``neurosim chips list | head -0``: the reader is gone before the first line; the command
    ends with 141 (128 + SIGPIPE) and nothing on stderr (no BrokenPipeError traceback, no
    'Exception ignored' from the interpreter's final flush)."""
    import os
    import subprocess

    from tests.helpers import ROOT

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "neurosim", "chips", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the real pipe's reader stops before reading anything
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == cli.BROKEN_PIPE_EXIT
    assert err == ""


def test_a_broken_pipe_inside_a_command_is_exit_141(boom_command, capsys, monkeypatch):
    quieted = []
    monkeypatch.setattr(cli, "_quiet_stdout", lambda: quieted.append(True))  # keep pytest's own stdout
    boom_command.append(BrokenPipeError(32, "Broken pipe"))
    assert main(["boom"]) == 141 and quieted == [True]
    assert capsys.readouterr().err == ""
