"""Meshes and nets shared by the placement tests."""
import numpy as np

from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.nets import Nets


def mesh(tx, ty, cpt=1, chips=(1, 1)):
    return ChipSpec(name="m", core=CoreLimits(max_compartments=8, max_in_axons=8, max_out_axons=8,
                                              synapse_mem_bits=1024),
                    noc=NocSpec(tile_grid=(tx, ty), cores_per_tile=cpt, chip_grid=chips),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


def chain_nets(k, rate=1.0):
    """Part i sends to part i+1 (a path graph)."""
    src = np.arange(k - 1)
    return Nets(src=src, ptr=np.arange(k), dst=src + 1, rate=np.full(k - 1, rate), count=np.ones(k - 1, int),
                neuron_net=np.zeros(0, int), n_parts=k)


def random_nets(k=20, n=60, seed=5):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, k, n)
    dst = [sorted(set(rng.integers(0, k, rng.integers(1, 4)).tolist())) for _ in src]
    ptr = np.concatenate([[0], np.cumsum([len(d) for d in dst])])
    return Nets(src=src, ptr=ptr, dst=np.concatenate(dst), rate=rng.random(n), count=np.ones(n, int),
                neuron_net=np.zeros(0, int), n_parts=k)
