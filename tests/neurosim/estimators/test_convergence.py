"""The convergence verdict of a dictionary-learning history (neurosim.estimators.convergence)."""
import pytest

from neurosim.errors import InputError
from neurosim.estimators.convergence import training_convergence


def history(objectives, every=100):
    return {"samples": [float(every * i) for i in range(len(objectives))], "test_objective": list(objectives)}


def test_flat_end_of_training_is_converged():
    # samples 0..800; the window starts at 600: 1.004 -> 1.000 is a 0.4 % fall, under 1 %
    c = training_convergence(history([3.0, 2.0, 1.5, 1.2, 1.1, 1.05, 1.004, 1.002, 1.0]))
    assert c.converged is True and c.change == pytest.approx(0.004)
    assert (c.since_sample, c.last_sample) == (600, 800)
    assert c.line().startswith("converged: the held-out objective fell 0.40% over samples 600..800")
    assert c.advice == ""


def test_still_falling_is_not_converged_and_says_what_to_do():
    # 800 samples; window from 600: 1.2 -> 1.0 is 20 %
    c = training_convergence(history([3.0, 2.5, 2.0, 1.8, 1.6, 1.4, 1.2, 1.1, 1.0]))
    assert c.converged is False and c.change == pytest.approx(0.2)
    line = c.line()
    assert line.startswith("NOT CONVERGED: the held-out objective fell 20.00% over samples 600..800")
    assert "tolerance 5%" in line and "more --epochs" in line
    assert "\n" not in line


def test_rising_objective_is_not_converged_and_asks_for_lower_rates():
    c = training_convergence(history([3.0, 1.0, 1.0, 1.2, 1.5]), tol=0.05)
    # 400 samples; window from 300: 1.2 -> 1.5 rose by 20 % of 1.5
    assert c.converged is False and c.change == pytest.approx(-0.2)
    assert "rose" in c.line() and "lower --eta" in c.line()


def test_window_starts_at_the_last_evaluation_before_it():
    # evaluations at 0, 100, 250, 300 (last one shorter, like a run's end): window 0.25 of 300 starts
    # at 225 -> the evaluation at 100 is the last one at or before it
    c = training_convergence({"samples": [0, 100, 250, 300], "test_objective": [2.0, 1.0, 0.995, 0.99]})
    assert c.since_sample == 100 and c.change == pytest.approx(0.01 / 0.99)
    assert training_convergence({"samples": [0, 100, 250, 300], "test_objective": [2.0, 1.0, 0.995, 0.99]},
                                tol=0.01).converged is False  # 1.01 % > 1 %
    assert c.converged is True


@pytest.mark.parametrize("h", [history([]), history([1.0]), history([2.0, 1.0])])
def test_too_few_evaluations_is_unknown(h):
    c = training_convergence(h)
    assert c.converged is None and c.change is None
    assert c.line().startswith("convergence unknown:") and "--eval-every" in c.line()


def test_bad_arguments_are_refused():
    with pytest.raises(InputError, match="tol"):
        training_convergence(history([1, 1, 1]), tol=0)
    with pytest.raises(InputError, match="window"):
        training_convergence(history([1, 1, 1]), window=1.0)
    with pytest.raises(InputError, match="another length"):
        training_convergence({"samples": [0, 1, 2], "test_objective": [1.0, 2.0]})
