"""Every output path of a command is checked before any work, with a one-line exit-2 error:
an empty path, a path below a regular file, two outputs that are the same file (user-test
defects 1, 2, 22, 23)."""
import pytest

from neurosim.cli import main
from tests.helpers import save_tiny_files


@pytest.fixture
def files(tmp_path):
    save_tiny_files(tmp_path)
    (tmp_path / "afile").write_text("x")
    return tmp_path


@pytest.fixture
def no_work(monkeypatch):
    """Make any simulation, network loading or mapping fail the test: the checks come first."""
    import neurosim.cli.learn_cmd as learn_cmd
    import neurosim.cli.map_cmd as map_cmd
    import neurosim.cli.run_cmd as run_cmd

    def boom(*a, **k):
        raise AssertionError("work started before the output paths were checked")

    for mod, names in ((map_cmd, ("map_input", "load_network_file", "load_nir_graph")),
                       (run_cmd, ("load_experiment", "run_experiment")),
                       (learn_cmd, ("load_data",))):
        for name in names:
            monkeypatch.setattr(mod, name, boom)


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, (n, err)
    return err


def map_args(files, *extra):
    return ["map", "--network", str(files / "net.npz"), "--chip", "tiny", "--no-progress", *extra]


# -- defect 1: --out below a regular file --------------------------------------------------------
def test_map_out_below_a_regular_file(files, capsys, no_work):
    assert main(map_args(files, "--out", str(files / "afile" / "sub"))) == 2
    one_line_error(capsys, "--out", "is not a directory", "afile")


def test_run_out_below_a_regular_file(files, capsys, no_work):
    assert main(["run", "--chip", "tiny", "--out", str(files / "afile" / "sub"), "--no-progress"]) == 2
    one_line_error(capsys, "--out", "is not a directory")


# -- defect 2: --nir-out below a regular file ----------------------------------------------------
def test_map_nir_out_below_a_regular_file_writes_nothing(files, capsys, no_work):
    out = files / "n6"
    assert main(map_args(files, "--out", str(out), "--nir-out", str(files / "afile" / "x.nir"))) == 2
    one_line_error(capsys, "--nir-out", "is not a directory")
    assert not out.exists()


# -- defect 22: empty paths ----------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    lambda f: map_args(f, "--out", ""),
    lambda f: map_args(f, "--out", str(f / "o"), "--nir-out", ""),
    lambda f: ["run", "--chip", "tiny", "--out", "", "--no-progress"],
    lambda f: ["lca", "--out", ""],
    lambda f: ["lca", "--out", str(f / "c.npy"), "--method", "lca", "--activity", ""],
    lambda f: ["relu", "--out", ""],
    lambda f: ["learn", "--out", "", "--no-progress"],
    lambda f: ["learn", "--out", str(f / "d.npz"), "--chip", "tiny", "--activity-out", "", "--no-progress"],
    lambda f: ["learn", "--out", str(f / "d.npz"), "--checkpoint", "", "--no-progress"],
])
def test_empty_output_paths_are_refused(files, capsys, no_work, monkeypatch, argv):
    monkeypatch.chdir(files)
    before = sorted(p.name for p in files.iterdir())
    assert main(argv(files)) == 2
    one_line_error(capsys, "empty path")
    assert sorted(p.name for p in files.iterdir()) == before


# -- defect 23: an extra output that is one of the standard outputs ------------------------------
@pytest.mark.parametrize("extra, needle", [
    (("--nir-out", "{out}/report.json"), "--nir-out"),
    (("--nir-out", "{out}/../q1/placement.json"), "--nir-out"),
    (("--sanafe", "--nir-out", "{out}/sanafe_arch.yaml"), "--nir-out"),
    (("--nir-out", "{out}"), "--out"),
])
def test_map_extra_output_colliding_with_a_standard_one(files, capsys, no_work, extra, needle):
    out = files / "q1"
    argv = map_args(files, "--out", str(out), *[e.format(out=out) for e in extra])
    assert main(argv) == 2
    one_line_error(capsys, needle, "same")
    assert not out.exists()


def test_map_nir_out_inside_out_dir_under_another_name_is_fine(tmp_path, capsys):
    nir = pytest.importorskip("nir")
    import numpy as np

    src = tmp_path / "small.nir"
    lif = nir.LIF(tau=np.full(4, 1e-2), r=np.ones(4), v_leak=np.zeros(4), v_threshold=np.ones(4))
    nir.write(str(src), nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([3])),
                                            "fc": nir.Linear(weight=np.ones((4, 3))), "lif": lif,
                                            "output": nir.Output(output_type=np.array([4]))},
                                     edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")]))
    out = tmp_path / "q2"
    assert main(["map", "--nir", str(src), "--dt", "1e-3", "--chip", "tiny", "--out", str(out), "--no-progress",
                 "--time-budget", "0", "--nir-out", str(out / "mapped.nir")]) == 0
    assert (out / "mapped.nir").is_file() and (out / "report.json").is_file()


def test_learn_activity_out_colliding_with_the_map_report(files, capsys, no_work):
    argv = ["learn", "--data", "planted", "--atoms", "16", "--samples", "32", "--train", "32", "--test", "16",
            "--method", "local-spiking", "--out", str(files / "e.npz"), "--chip", "loihi1", "--no-progress",
            "--map-out", str(files / "emap"), "--activity-out", str(files / "emap" / "report.json")]
    assert main(argv) == 2
    one_line_error(capsys, "--activity-out", "same file as --map-out (report.json)")
    assert not (files / "emap").exists()


def test_learn_checkpoint_equal_to_out(files, capsys, no_work):
    argv = ["learn", "--out", str(files / "e.npz"), "--checkpoint", str(files / "e.npz"), "--no-progress"]
    assert main(argv) == 2
    one_line_error(capsys, "--checkpoint", "same file as --out")


def test_learn_existing_plot_refused_before_training(files, capsys, no_work):
    (files / "plots").mkdir()
    (files / "plots" / "atoms.png").write_bytes(b"mine")
    argv = ["learn", "--out", str(files / "e.npz"), "--plots", str(files / "plots"), "--no-progress"]
    assert main(argv) == 2
    one_line_error(capsys, "--plots (atoms.png)", "file exists")
    assert (files / "plots" / "atoms.png").read_bytes() == b"mine"


def test_pudle_plot_equal_to_out(files, capsys):
    assert main(["pudle", "--out", str(files / "x"), "--plot", str(files / "x")]) == 2
    one_line_error(capsys, "--plot", "same file as --out")


def test_lca_activity_equal_to_out_still_refused(files, capsys):
    assert main(["lca", "--method", "lca", "--out", str(files / "s.npz"), "--activity", str(files / "s.npz")]) == 2
    one_line_error(capsys, "--activity", "is the same file as --out")


def test_an_output_never_replaces_an_input_even_with_force(files, capsys, no_work):
    net = files / "net.npz"
    before = net.read_bytes()
    assert main(map_args(files, "--out", str(files / "o"), "--nir-out", str(net), "--force")) == 2
    one_line_error(capsys, "--nir-out", "is the input file --network")
    assert net.read_bytes() == before


def test_lca_out_equal_to_its_dictionary_is_refused(files, capsys):
    import numpy as np

    np.save(files / "D.npy", np.eye(3))
    np.save(files / "X.npy", np.ones((2, 3)))
    assert main(["lca", "--dictionary", str(files / "D.npy"), "--inputs", str(files / "X.npy"), "--lam", "0.1",
                 "--out", str(files / "D.npy"), "--force"]) == 2
    one_line_error(capsys, "--out", "is the input file --dictionary")


def test_an_output_reaching_an_input_through_a_link_shows_both_paths(files, capsys):
    import numpy as np

    np.save(files / "D.npy", np.eye(3))
    np.save(files / "X.npy", np.ones((2, 3)))
    (files / "sub").mkdir()
    (files / "sub" / "Dlink.npy").symlink_to(files / "D.npy")
    assert main(["lca", "--dictionary", str(files / "sub" / "Dlink.npy"), "--inputs", str(files / "X.npy"),
                 "--lam", "0.1", "--out", str(files / "D.npy"), "--force"]) == 2
    err = one_line_error(capsys, "--out", f"is the input file --dictionary ('{files / 'sub' / 'Dlink.npy'}')")
    assert f"got {files / 'D.npy'}" in err


def test_run_never_replaces_a_file_the_experiment_reads_even_with_force(tmp_path, capsys):
    import numpy as np

    out = tmp_path / "o"
    out.mkdir()
    np.save(out / "codes.npy", np.random.default_rng(0).random((4, 64)))  # a run's codes, reused as inputs
    exp = tmp_path / "e.yaml"
    exp.write_text("name: reuse\nnetwork:\n  builder: spiking_lca\n  dictionary: {kind: default, patch: 8, atoms: 64}\n"
                   "  inputs: {file: o/codes.npy}\n  lam: 0.5\nsimulation: {steps: 50, dt_s: 0.1}\n")
    before = (out / "codes.npy").read_bytes()
    assert main(["run", str(exp), "--chip", "loihi1", "--out", str(out), "--force", "--no-progress"]) == 2
    one_line_error(capsys, "--out (codes.npy)", "is the input file network.inputs.file")
    assert (out / "codes.npy").read_bytes() == before
