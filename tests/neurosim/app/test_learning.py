"""The cost of learning on a chip (neurosim.app.learning), from the library: the fit is checked
before training and the learning updates are charged exactly (plastic synapses x updates)."""
import pytest

from mapper import MappingOptions, load_chip
from neurosim.app.learning import check_learning_fits, cost_of_learning
from neurosim.data.planted import planted_nonneg
from neurosim.errors import CapacityError, InputError
from neurosim.estimators.dictlearn import LocalDictionaryLearning

SETTINGS = {"method": "local-rate", "data": "planted", "atoms": 8, "batch": 10}
#: plastic synapses: F 8 x 16 + B 16 x 8 + H 8 x 8 off-diagonal
PLASTIC = 8 * 16 + 16 * 8 + 8 * 7


@pytest.fixture(scope="module")
def learner():
    data = planted_nonneg(16, 8, 30, seed=2)
    return LocalDictionaryLearning(8, batch_size=10, n_epochs=1.0, seed=1).fit(data.X)


def test_rate_learning_is_costed_as_a_modelled_activity(learner):
    cost = cost_of_learning(learner, "loihi1", MappingOptions(time_budget_s=0), first_sample=0, settings=SETTINGS)
    rep = cost.report
    ln = rep["learning"]
    assert ln["activity"] == "fixed-point model" and ln["samples_profiled"] == 30
    assert ln["updates"]["F"] == 3
    assert rep["totals"]["learn_updates"] == pytest.approx(PLASTIC * 3, rel=1e-12)
    assert 0 < ln["learn_update_share"] < 1 and ln["learn_update_j"] == rep["energy_j"]["by_event"]["learn_update"]
    assert any("MODELLED" in n for n in rep["notes"])
    assert rep["activity"]["inputs"] == 30  # per-input figures count the samples, not the batch width
    assert ln["figures"] == "modelled" and rep["activity"]["source"] == "fixed-point:spikes"
    assert "cost of learning on chip 'loihi1' (MODELLED figures, from the rate model's fixed points" in cost.text()
    assert "converged" not in ln  # only when the caller passes a verdict


def test_fit_check_before_training(learner):
    state = learner.state_
    with pytest.raises(InputError, match="the checkpoint has finished training"):
        check_learning_fits(learner, state, "loihi1", total=state.samples_seen)
    import dataclasses
    fresh = dataclasses.replace(state, samples_seen=0)
    k, binding = check_learning_fits(learner, fresh, load_chip("loihi1"), total=30)
    assert k >= 1 and binding
    with pytest.raises(CapacityError):
        check_learning_fits(learner, fresh, "tiny", total=30)
