"""Learn checkpoints (neurosim.app.checkpoint): a checkpoint written by a run is read back exactly; a
damaged one is refused naming the file and the entry, before training resumes (issue 16, family 5)."""
import json
import re

import numpy as np
import pytest

from neurosim.app.checkpoint import load_checkpoint, save_checkpoint
from neurosim.errors import InputError
from neurosim.estimators.dictlearn import LocalDictionaryLearning
from neurosim.estimators.sgd_dict import SGDDictionaryLearning

SETTINGS = {"method": "local-rate", "atoms": 6, "lam": 0.1, "train": 40, "total": 80, "seed": 0}
KEYS = ("method", "atoms", "lam", "train", "total", "seed")


@pytest.fixture(scope="module", params=["local", "sgd"])
def trained(request, tmp_path_factory):
    X = np.abs(np.random.default_rng(0).normal(size=(40, 8)))
    if request.param == "local":
        learner = LocalDictionaryLearning(6, lam=0.1, n_samples=80, batch_size=8, seed=0)
    else:
        learner = SGDDictionaryLearning(6, lam=0.1, n_samples=80, batch_size=8, seed=0)
    state = learner.initial_state(X)
    learner.fit(X, state=state, callback=lambda st: st.samples_seen >= 24)
    path = save_checkpoint(tmp_path_factory.mktemp("ck") / "ck.npz", learner.state_, SETTINGS)
    return learner, X, path


def _load(learner, X, path):
    return load_checkpoint(path, settings=SETTINGS, keys=KEYS, fresh=learner.initial_state(X), n_train=40,
                           total=80)


def test_round_trip(trained):
    learner, X, path = trained
    st = _load(learner, X, path)
    assert st.samples_seen == learner.state_.samples_seen == 24 and st.position == learner.state_.position
    np.testing.assert_array_equal(st.order, learner.state_.order)
    assert st.rng_state == learner.state_.rng_state


def test_the_rate_scale_round_trips_and_older_checkpoints_read_as_one(trained, tmp_path):
    """A backed-off automatic rate (``rate_scale``) resumes as it was; a checkpoint written before
    the entry existed reads as never backed off."""
    learner, X, path = trained
    assert _load(learner, X, _damaged(path, tmp_path, rate_scale=np.array(0.25))).rate_scale == 0.25
    assert _load(learner, X, _damaged(path, tmp_path, rate_scale=None)).rate_scale == 1.0


def _damaged(path, tmp_path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k, None)
        else:
            arrays[k] = v
    out = tmp_path / "bad.npz"
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize("changes, match", [
    ({"rng_state": np.array('{"bit_generator": "MT19937"}')}, r"entry 'rng_state': not the state of a PCG64"),
    ({"rng_state": np.array("{")}, r"entry 'rng_state': not valid JSON"),
    ({"order": np.array([5, 5, 5])}, r"entry 'order': not a permutation of the 40 training samples"),
    ({"order": np.arange(40.0)}, r"entry 'order': must be whole numbers"),
    ({"position": np.array(99)}, r"entry 'position': out of range \(got 99, expected 0 .. 40\)"),
    ({"position": np.array([1, 2])}, r"entry 'position': must be one whole number"),
    ({"samples_seen": np.array(-1)}, r"entry 'samples_seen': out of range"),
    ({"samples_seen": np.array(10**6)}, r"entry 'samples_seen': out of range \(got 1000000, expected 0 .. 80\)"),
    ({"epoch": np.array(2.5)}, r"entry 'epoch': must be one whole number"),
    ({"settings": np.array("[1]")}, r"entry 'settings': must be a JSON object"),
    ({"settings": None}, r"entry 'settings' is missing"),
    ({"history_samples": np.zeros((2, 2))}, r"entry 'history_samples': must be a 1-D array of numbers"),
    ({"rate_scale": np.array(2.0)}, r"entry 'rate_scale': out of range \(got 2.0, expected 0 < rate_scale <= 1"),
    ({"rate_scale": np.array(np.nan)}, r"entry 'rate_scale': not finite"),
    ({"rate_scale": np.array([0.5, 0.5])}, r"entry 'rate_scale': wrong shape"),
], ids=lambda v: str(v)[:28])
def test_damaged_state_is_refused(trained, tmp_path, changes, match):
    """A damaged checkpoint raised EOFError, BadZipFile, JSONDecodeError, "state must be for a PCG64 RNG",
    AttributeError or IndexError while resuming."""
    learner, X, path = trained
    bad = _damaged(path, tmp_path, **changes)
    with pytest.raises(InputError, match=r"checkpoint '.*bad.npz'.*" + match):
        _load(learner, X, bad)


def test_wrong_parameter_shapes_and_values_are_refused(trained, tmp_path):
    learner, X, path = trained
    with np.load(path) as z:
        key = "F" if "F" in z.files else "D"
        shape = z[key].shape
    for value, match in ((np.zeros((3, 3)), re.escape(f"entry '{key}': wrong shape for the run's weights (got (3, 3), "
                                                       f"expected {shape})")),
                         (np.full(shape, np.nan), rf"entry '{key}': not finite"),
                         (np.zeros(shape, dtype=complex), rf"entry '{key}': must be real numbers")):
        with pytest.raises(InputError, match=match):
            _load(learner, X, _damaged(path, tmp_path, **{key: value}))
    with pytest.raises(InputError, match=rf"entry '{key}' is missing"):
        _load(learner, X, _damaged(path, tmp_path, **{key: None}))


def test_other_settings_are_refused(trained, tmp_path):
    learner, X, path = trained
    with pytest.raises(InputError, match=r"was written with other settings \(got \{'lam': 0.1\}, expected \{'lam': 0.5\}"):
        load_checkpoint(path, settings={**SETTINGS, "lam": 0.5}, keys=KEYS, fresh=learner.initial_state(X), n_train=40,
                        total=80)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "crc"])
def test_damaged_archives_are_refused(trained, tmp_path, damage):
    learner, X, path = trained
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 3]
    elif damage == "garbage":
        data = bytearray(b"PK" + bytes(200))
    else:
        data[len(data) // 2] ^= 0x55
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"checkpoint '.*bad.npz'"):
        _load(learner, X, bad)
    assert json.dumps(SETTINGS)  # the settings themselves are untouched
