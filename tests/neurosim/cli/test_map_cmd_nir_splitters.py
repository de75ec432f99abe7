"""A ``neurosim map --nir-out`` export holding splitter relays is refused on import, before any
partitioning, with a message saying what it is and what to map instead (user-test defect 14)."""
import numpy as np
import pytest

from neurosim.cli import main
from neurosim.errors import InputError

nir = pytest.importorskip("nir")


def lif(n):
    return nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))


def graph(relay_name="__splitters__"):
    """Input -> lif1 with part of lif1's fan-out through a relay layer, as the exporter writes it."""
    nodes = {"input": nir.Input(input_type=np.array([3])), "input__lif1": nir.Linear(weight=np.ones((4, 3))),
             "lif1": lif(4), "lif1__relay": nir.Linear(weight=np.eye(2, 4)), relay_name: lif(2),
             "relay__lif2": nir.Linear(weight=np.ones((2, 2))), "lif2": lif(2),
             "output": nir.Output(output_type=np.array([2]))}
    edges = [("input", "input__lif1"), ("input__lif1", "lif1"), ("lif1", "lif1__relay"), ("lif1__relay", relay_name),
             (relay_name, "relay__lif2"), ("relay__lif2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_the_name_agrees_with_the_mapper():
    from mapper.partition import SPLITTER_POPULATION
    from neurosim.nir.read import SPLITTER_NODE

    assert SPLITTER_NODE == SPLITTER_POPULATION


def test_read_nir_refuses_a_graph_with_splitter_relays():
    from neurosim.nir.read import read_nir

    with pytest.raises(InputError, match=r"contains neurosim splitter relays.*'neurosim map --nir-out'.*"
                                         r"got node '__splitters__', expected the original network"):
        read_nir(graph(), dt_s=1e-3)


def test_an_ordinary_layer_of_another_name_still_reads():
    from neurosim.nir.read import read_nir

    network, _ = read_nir(graph("relay"), dt_s=1e-3)
    assert "relay" in [p.name for p in network.populations]


def test_map_refuses_it_before_partitioning(tmp_path, capsys, monkeypatch):
    import neurosim.cli.map_cmd as map_cmd

    def boom(*a, **k):
        raise AssertionError("mapping started")

    monkeypatch.setattr(map_cmd, "map_network", boom)
    f = tmp_path / "s_tn.nir"
    nir.write(str(f), graph())
    assert main(["map", "--nir", str(f), "--dt", "1e-3", "--chip", "truenorth", "--out", str(tmp_path / "rt"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"NIR graph '{f}'" in err and "map the graph or network file that was mapped" in err
    assert not (tmp_path / "rt").exists()
