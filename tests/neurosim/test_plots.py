"""Figures of a run (neurosim.plots): what the raster, the graded map and the code panel draw
(read back from the matplotlib artists), and ``save_png`` writing a PNG atomically and closing
the figure."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from neurosim.errors import InputError
from neurosim.plots import activity_figure, save_png

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_spike_raster_has_one_mark_per_spike_at_its_time():
    record = np.zeros((5, 3), dtype=bool)
    record[1, 0] = record[3, 2] = record[4, 2] = True
    fig = activity_figure(record, dt_s=0.5, graded=False, title="run")
    (ax,) = fig.axes
    pts = ax.collections[0].get_offsets()
    assert sorted(map(tuple, np.asarray(pts))) == [(0.5, 0.0), (1.5, 2.0), (2.0, 2.0)]
    assert ax.get_xlim() == (0.0, 2.5) and ax.get_ylim() == (-0.5, 2.5)
    assert ax.get_title() == "run" and ax.get_xlabel() == "time (model seconds)" and ax.get_ylabel() == "neuron"


def test_silent_raster_draws_no_marks():
    fig = activity_figure(np.zeros((4, 2), dtype=bool), dt_s=1.0, graded=False, title="quiet")
    assert len(fig.axes[0].collections[0].get_offsets()) == 0


def test_empty_record_does_not_fail():
    fig = activity_figure(np.zeros((0, 2), dtype=bool), dt_s=1.0, graded=False, title="none")
    assert fig.axes[0].get_xlim() == (0.0, 1.0)


def test_graded_output_is_an_image_of_neurons_by_time_with_a_colour_bar():
    record = np.arange(12.0).reshape(4, 3)  # 4 steps, 3 neurons
    fig = activity_figure(record, dt_s=0.1, graded=True, title="graded")
    ax = fig.axes[0]
    (im,) = ax.get_images()
    np.testing.assert_array_equal(im.get_array(), record.T)
    assert im.get_extent() == pytest.approx([0.0, 0.4, -0.5, 2.5])
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "output a"


def test_codes_against_a_reference():
    codes, ref = np.array([0.0, 1.5, -0.5]), np.array([0.0, 2.0, 0.0])
    fig = activity_figure(np.zeros((3, 3), dtype=bool), dt_s=1.0, graded=False, title="t", codes=codes,
                          reference=ref)
    ax2 = fig.axes[1]
    assert [bar.get_height() for bar in ax2.patches] == [0.0, 2.0, 0.0]
    (line,) = ax2.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), codes)
    assert sorted(t.get_text() for t in ax2.get_legend().get_texts()) == ["decoded", "reference (FISTA)"]


def test_codes_without_a_reference_draw_no_bars():
    fig = activity_figure(np.zeros((3, 2), dtype=bool), dt_s=1.0, graded=False, title="t", codes=np.ones(2))
    assert len(fig.axes) == 2 and len(fig.axes[1].patches) == 0


def test_save_png_writes_a_png_and_closes_the_figure(tmp_path):
    fig = activity_figure(np.eye(3, dtype=bool), dt_s=1.0, graded=False, title="t")
    p = save_png(fig, tmp_path / "sub" / "a.png")
    assert p == tmp_path / "sub" / "a.png" and p.read_bytes()[:8] == PNG
    assert fig.number not in plt.get_fignums()
    assert sorted(x.name for x in p.parent.iterdir()) == ["a.png"]  # no temporary left


def test_save_png_refuses_a_directory(tmp_path):
    fig = activity_figure(np.eye(2, dtype=bool), dt_s=1.0, graded=False, title="t")
    with pytest.raises(InputError, match="is a directory"):
        save_png(fig, tmp_path)
    assert list(tmp_path.iterdir()) == []
