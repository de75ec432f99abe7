"""Figures of ``neurosim learn`` (neurosim.cli.learn_plots): the atom grid (sorted by norm, channels
merged, padded to a square) and the training curves, read back from the matplotlib artists; the
PNG files are written atomically and never replace an existing file without ``force``."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from neurosim.cli import learn_plots
from neurosim.cli.learn_plots import plot_atoms, plot_history
from neurosim.errors import InputError, NetworkError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def figures(monkeypatch):
    """Keep the figures instead of saving them: ``figures[-1]`` is the last one drawn."""
    kept = []

    def keep(fig, path, *, force):
        kept.append(fig)
        return path

    monkeypatch.setattr(learn_plots, "_save", keep)
    yield kept
    plt.close("all")


def _images(fig):
    return [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]


# -- plot_atoms ----------------------------------------------------------------------------------
def test_atoms_are_drawn_largest_norm_first(figures, tmp_path):
    D = np.zeros((4, 3))
    D[:, 0] = [1, 0, 0, 0]          # norm 1
    D[:, 1] = [0, 3, 0, 0]          # norm 3
    D[:, 2] = [0, 0, 2, 0]          # norm 2
    plot_atoms(D, tmp_path / "a.png", shape=(2, 2), split=False)
    fig = figures[-1]
    imgs = _images(fig)
    assert [np.asarray(i).tolist() for i in imgs] == [[[0, 3], [0, 0]], [[0, 0], [2, 0]], [[1, 0], [0, 0]]]
    assert fig._suptitle.get_text() == "3 learned atoms (sorted by norm)"
    assert len(fig.axes) == 4 and all(not ax.axison for ax in fig.axes)  # a 2 x 2 grid, one cell empty


def test_max_atoms_keeps_the_largest(figures, tmp_path):
    D = np.eye(9) * np.arange(1, 10)  # atom k has norm k + 1
    plot_atoms(D, tmp_path / "a.png", shape=(3, 3), split=False, max_atoms=2)
    imgs = _images(figures[-1])
    assert len(imgs) == 2 and np.asarray(imgs[0]).max() == 9 and np.asarray(imgs[1]).max() == 8


def test_split_atoms_are_merged_to_signed_images(figures, tmp_path):
    pos = np.array([[1.0], [0.0], [0.0], [2.0]])
    neg = np.array([[0.0], [3.0], [0.0], [0.0]])
    plot_atoms(np.vstack([pos, neg]), tmp_path / "a.png", shape=(2, 2), split=True)
    (img,) = _images(figures[-1])
    np.testing.assert_array_equal(img, [[1.0, -3.0], [0.0, 2.0]])
    (im,) = figures[-1].axes[0].get_images()
    assert im.get_clim() == (-3.0, 3.0)  # symmetric colour scale for signed atoms


def test_atoms_that_do_not_fit_the_shape_are_padded_to_a_square(figures, tmp_path):
    D = np.arange(1.0, 6.0)[:, None]  # 5 pixels for a declared 2 x 2
    plot_atoms(D, tmp_path / "a.png", shape=(2, 2), split=False)
    (img,) = _images(figures[-1])
    np.testing.assert_array_equal(img, [[1, 2, 3], [4, 5, 0], [0, 0, 0]])


def test_split_needs_two_channels():
    with pytest.raises(NetworkError, match="even number of rows"):
        plot_atoms(np.ones((5, 2)), "unused.png", shape=(2, 2), split=True)


def test_atoms_png_is_written_and_kept_without_force(tmp_path):
    p = tmp_path / "atoms.png"
    assert plot_atoms(np.eye(4), p, shape=(2, 2), split=False) == p
    assert p.read_bytes()[:8] == PNG
    p.write_bytes(b"mine")
    with pytest.raises(InputError, match="file exists"):
        plot_atoms(np.eye(4), p, shape=(2, 2), split=False)
    assert p.read_bytes() == b"mine"
    plt.close("all")
    plot_atoms(np.eye(4), p, shape=(2, 2), split=False, force=True)
    assert p.read_bytes()[:8] == PNG
    assert sorted(x.name for x in tmp_path.iterdir()) == ["atoms.png"]
    assert plt.get_fignums() == []  # a saved figure is closed


# -- plot_history --------------------------------------------------------------------------------
def test_history_panels(figures, tmp_path):
    history = {"samples": [0, 100, 200], "test_objective": [3.0, 2.0, 1.5], "consistency": [0.5, 0.9],
               "symmetry": [float("nan")] * 3}
    plot_history(history, tmp_path / "h.png", title="local-rate")
    fig = figures[-1]
    ax_obj, ax_cons, ax_sym = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["held-out objective", "consistency", "F/B symmetry"]
    (line,) = ax_obj.get_lines()
    assert line.get_xdata().tolist() == [0, 100, 200] and line.get_ydata().tolist() == [3.0, 2.0, 1.5]
    (line,) = ax_cons.get_lines()  # a shorter curve is drawn against the first samples
    assert line.get_xdata().tolist() == [0, 100] and line.get_ydata().tolist() == [0.5, 0.9]
    assert ax_sym.get_lines() == [] and ax_sym.texts[0].get_text() == "n/a for this method"
    assert fig._suptitle.get_text() == "local-rate"


def test_history_without_a_key_says_not_available(figures, tmp_path):
    plot_history({"samples": [0, 10], "test_objective": [1.0, 0.5]}, tmp_path / "h.png")
    texts = [ax.texts[0].get_text() if ax.texts else None for ax in figures[-1].axes]
    assert texts == [None, "n/a for this method", "n/a for this method"]


def test_history_png_is_written_and_kept_without_force(tmp_path):
    p = tmp_path / "h.png"
    plot_history({"samples": [0, 1], "test_objective": [1.0, 0.5]}, p)
    assert p.read_bytes()[:8] == PNG
    with pytest.raises(InputError, match="file exists"):
        plot_history({"samples": [0, 1]}, p)
    plt.close("all")
    plot_history({"samples": [0, 1]}, p, force=True)
    assert plt.get_fignums() == []


def test_a_refused_plot_leaves_no_open_figure(tmp_path):
    p = tmp_path / "atoms.png"
    p.write_bytes(b"mine")
    plt.close("all")
    with pytest.raises(InputError, match="file exists"):
        plot_atoms(np.eye(4), p, shape=(2, 2), split=False)
    with pytest.raises(InputError, match="file exists"):
        plot_history({"samples": [0, 1]}, p)
    open_figures = plt.get_fignums()
    plt.close("all")
    assert open_figures == []
