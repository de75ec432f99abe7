"""Experiment files (neurosim.app.experiment): the schema mechanism's errors name file, key, line,
value and what is allowed; cross-field rules refuse settings without effect; data and builders."""
import copy
import json

import numpy as np
import pytest

from neurosim.app.experiment import (DEFAULT_EXPERIMENT, FIELDS, build_experiment, check_experiment_resources,
                                     estimate_experiment, experiment_from_dict, experiment_json_schema,
                                     load_experiment)
from neurosim.errors import ExperimentError, InputError, ResourceError
from neurosim.guard import ResourceLimits
from neurosim.validation.schema import schema_markdown
from tests.helpers import ROOT


def exp(**sections):
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    for section, values in sections.items():
        d.setdefault(section, {}).update(values)
    return d


def alca(**sim):
    d = exp(network={"builder": "analog_lca", "nonneg": True, "lam": 0.2,
                     "inputs": {"kind": "random", "n": 2, "k": 3, "seed": 3}})
    d["simulation"] = {"steps": 50, "dt_s": 0.1, **sim}
    return d


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update(netwrk={}), r"'x.yaml:netwrk': unknown key; did you mean 'network'\?"),
    (lambda d: d["network"].update(lam=-1), r"'x.yaml:network.lam': must not be negative \(got -1.0, expected a number >= 0\)"),
    (lambda d: d["network"].update(lam=None), r"'x.yaml:network.lam': value is required \(null is not allowed here\)"),
    (lambda d: d["network"].update(builder="lif"), r"'x.yaml:network.builder': unknown value \(got 'lif', expected one of"),
    (lambda d: d["simulation"].update(steps=2.5), r"'x.yaml:simulation.steps': must be a whole number"),
    (lambda d: d["simulation"].update(stepz=2), r"'x.yaml:simulation.stepz': unknown key; did you mean 'simulation.steps'"),
    (lambda d: d["simulation"].update(backend="nest"), r"'x.yaml:simulation.backend': unknown value \(got 'nest'"),
    (lambda d: d["simulation"].update(dt_s=5.0), r"'x.yaml:simulation.dt_s': out of range \(got 5.0, expected a number > 0 and <= 1"),
    (lambda d: d["simulation"].update(dt_s=0), r"'x.yaml:simulation.dt_s': out of range \(got 0.0"),
    (lambda d: d["network"].pop("dictionary"), r"'x.yaml:network.dictionary': missing required key"),
    (lambda d: d.update(network=[1, 2]), r"'x.yaml:network': must be a mapping of key: value"),
    (lambda d: d["network"].update(dictionary={"kind": "default", "patch": 8, "atoms": 0}),
     r"'x.yaml:network.dictionary.atoms': out of range \(got 0, expected a whole number >= 1"),
    (lambda d: d["network"].update(inputs={"kind": "patchez"}),
     r"'x.yaml:network.inputs.kind': unknown kind; did you mean 'patches'\? \(got 'patchez'"),
    (lambda d: d["network"].update(inputs={"kind": "random", "nn": 2}),
     r"'x.yaml:network.inputs.nn': unknown key; did you mean 'network.inputs.n'\?"),
    (lambda d: d["network"].update(inputs={"kind": "random", "seed": -1}), r"'x.yaml:network.inputs.seed': must not be negative"),
    (lambda d: d.setdefault("mapping", {}).update(partitioner="metiss"),
     r"'x.yaml:mapping.partitioner': unknown value; did you mean 'metis'\?"),
    (lambda d: d.setdefault("mapping", {}).update(seed=2**31), r"'x.yaml:mapping.seed': out of range.*<= 2147483647"),
    (lambda d: d["simulation"].update(seed=2**31), r"'x.yaml:simulation.seed': out of range.*<= 2147483647"),
    (lambda d: d["network"].update(threshold="hard"), r"'x.yaml:network.threshold': only used by builder analog_lca"),
])
def test_bad_experiments_name_file_key_value_and_constraint(mutate, match):
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    mutate(d)
    with pytest.raises(ExperimentError, match=r"^experiment " + match) as err:
        experiment_from_dict(d, source="x.yaml")
    assert isinstance(err.value, InputError)


@pytest.mark.parametrize("transient", [10, 900])
def test_transient_is_refused_for_analog_lca(transient):
    with pytest.raises(ExperimentError, match=r"simulation.transient': only used by builder spiking_lca.*"
                                              rf"got {transient}, expected no simulation.transient"):
        experiment_from_dict(alca(transient=transient), source="e_tr.yaml")
    assert experiment_from_dict(alca()).simulation["transient"] is None


def test_transient_beyond_steps_refused():
    with pytest.raises(ExperimentError, match=r"simulation.transient': leaves no steps to count \(got 5000"):
        experiment_from_dict(exp(simulation={"steps": 5000, "transient": 5000}))


def test_errors_carry_the_line_of_the_key(tmp_path):
    f = tmp_path / "e.yaml"
    f.write_text("network:\n  dictionary: {kind: default}\n  inputs: {kind: patches}\n  lam: -2\n")
    with pytest.raises(ExperimentError, match=r"e.yaml:network.lam': must not be negative \(line 4\)"):
        load_experiment(f)
    f.write_text("network: {lam: [1,\n")
    with pytest.raises(ExperimentError, match=r"e.yaml:\(yaml\)': YAML syntax error at line"):
        load_experiment(f)
    f.write_text("network: {}\nnetwork: {}\n")
    with pytest.raises(ExperimentError, match=r"duplicate key \(line 2\)"):
        load_experiment(f)
    with pytest.raises(ExperimentError, match="file not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_data_files_are_relative_to_the_experiment_and_checked(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "D.npy", rng.standard_normal((16, 24)))
    np.save(tmp_path / "X.npy", rng.standard_normal((3, 16)))
    f = tmp_path / "e.yaml"
    f.write_text("network:\n  builder: analog_lca\n  dictionary: {file: D.npy}\n  inputs: {file: X.npy}\n")
    built = build_experiment(load_experiment(f))
    assert built.D.shape == (16, 24) and built.X.shape == (3, 16) and built.network.n_neurons == 24
    np.save(tmp_path / "X.npy", rng.standard_normal((3, 5)))
    with pytest.raises(ExperimentError, match=r"network.inputs': shape does not match the dictionary"):
        build_experiment(load_experiment(f))
    (tmp_path / "D.npy").write_text("name: x\n")
    with pytest.raises(ExperimentError, match=r"network.dictionary.file': dictionary file '.*D.npy': is not a .npy"):
        build_experiment(load_experiment(f))
    f.write_text("network:\n  dictionary: {file: nope.npy}\n  inputs: {kind: patches}\n")
    with pytest.raises(ExperimentError, match=r"network.dictionary.file': dictionary file '.*nope.npy': not found"):
        build_experiment(load_experiment(f))


def test_defaults_and_mapping_options():
    e = experiment_from_dict({"network": {"dictionary": {}, "inputs": {}}})
    assert e.network["dictionary"] == {"kind": "default", "patch": 8, "atoms": 128}
    assert e.network["inputs"] == {"kind": "patches", "patch": 8, "n": 16, "seed": 0}
    assert e.simulation["steps"] == 2000 and e.transient == 200
    from mapper import MappingOptions
    assert e.mapping_options() == MappingOptions()  # the one home of mapping defaults
    e = experiment_from_dict(exp(mapping={"partitioner": "sequential", "seed": 3}))
    opts = e.mapping_options(seed=7, placer=None)
    assert (opts.partitioner, opts.seed, opts.placer) == ("sequential", 7, MappingOptions().placer)


def test_schema_renders_as_markdown_and_json_schema():
    md = schema_markdown(FIELDS)
    for key in ("builder", "dictionary", "steps", "dt_s", "partitioner", "patch", "atoms"):
        assert f"`{key}`" in md
    js = experiment_json_schema()
    json.dumps(js)
    assert js["properties"]["simulation"]["properties"]["dt_s"]["exclusiveMinimum"] == 0
    assert "oneOf" in js["properties"]["network"]["properties"]["inputs"]


def test_shipped_examples_validate():
    files = sorted((ROOT / "examples").glob("*.yaml"))
    assert files
    for path in files:
        load_experiment(path)


# -- issue 16, family 3: sizes and steps are checked against memory and time before any work -----
@pytest.mark.parametrize("mutate, resource, match", [
    (lambda d: d["network"].update(dictionary={"kind": "default", "patch": 64, "atoms": 1 << 20}), "memory",
     r"resources 'x.yaml:network.dictionary': needs .* TiB of memory \(.*1048576 atoms"),
    (lambda d: d["network"].update(inputs={"kind": "patches", "patch": 8, "n": 1 << 20}), "memory",
     r"resources 'x.yaml:network.inputs.n': needs .* TiB of memory"),
    (lambda d: d["simulation"].update(steps=10**9), "duration",
     r"resources 'x.yaml:simulation.steps': would run for about .* years"),
], ids=["atoms", "inputs", "steps"])
def test_absurd_sizes_and_steps_are_refused_with_the_estimate(mutate, resource, match):
    """``dictionary.atoms`` of 2^20 died in numpy (``_ArrayMemoryError: 22.6 GiB``); 10^9 steps ran until
    killed. Both are refused up front, naming the key and the estimate."""
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    mutate(d)
    e = experiment_from_dict(d, source="x.yaml")
    with pytest.raises(ResourceError, match=match) as err:
        check_experiment_resources(e, ResourceLimits(max_memory_bytes=16 * 2**30))
    assert err.value.resource == resource


def test_a_user_memory_limit_is_honoured():
    e = load_experiment(None)
    est = estimate_experiment(e)
    check_experiment_resources(e, ResourceLimits(max_memory_bytes=int(est.memory_bytes) + 1))
    with pytest.raises(ResourceError, match=r"needs .* MiB of memory .*the limit set by --max-memory"):
        check_experiment_resources(e, ResourceLimits(max_memory_bytes=int(est.memory_bytes) - 1))


def test_estimate_bounds_the_measured_peak():
    """The memory estimate is an upper bound of what building and simulating the built-in experiment
    allocates (within a factor of 8: it is an honest figure, not a refusal of everything)."""
    import tracemalloc

    from neurosim.backends import simulate

    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    d["simulation"].update(steps=200, transient=20)
    e = experiment_from_dict(d)
    tracemalloc.start()
    try:
        b = build_experiment(e)
        simulate(b.network, steps=200, dt_s=0.1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = estimate_experiment(e)
    assert peak <= est.memory_bytes <= 8 * peak


def test_file_shapes_are_read_from_their_headers(tmp_path):
    np.save(tmp_path / "D.npy", np.zeros((16, 12)))
    np.save(tmp_path / "X.npy", np.zeros((5, 16)))
    (tmp_path / "e.yaml").write_text("network:\n  dictionary: {file: D.npy}\n  inputs: {file: X.npy}\n")
    est = estimate_experiment(load_experiment(tmp_path / "e.yaml"))
    assert (est.atoms, est.dimension, est.inputs) == (12, 16, 5)


def test_a_default_dictionary_it_cannot_build_names_the_file_and_key(tmp_path):
    """Found by the fuzzer: ``dictionary: {patch: 1, atoms: 2}`` built a NaN dictionary."""
    (tmp_path / "e.yaml").write_text("network:\n  dictionary: {kind: default, patch: 1, atoms: 2}\n"
                                     "  inputs: {kind: patches, patch: 1, n: 2, seed: 0}\n")
    with pytest.raises(ExperimentError, match=r"e\.yaml.*network\.dictionary.*a 1x1 patch has one DCT atom"):
        build_experiment(load_experiment(tmp_path / "e.yaml"))
