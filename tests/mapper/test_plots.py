"""Mapping figures are cropped to the used region and bounded in size, whatever the chip's mesh."""
import dataclasses
import struct

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper import plots
from mapper import map_network
from mapper.plots import (MAX_FIGURE_IN, link_traffic_figure, save_figure, save_mapping_figures, used_region,
                          utilisation_figure)


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def _mapped(tile_grid=(2, 2), chip_grid=(1, 1)):
    net, act = make_tiny_network()
    chip = make_tiny_chip(chip_grid=chip_grid)
    chip = dataclasses.replace(chip, noc=dataclasses.replace(chip.noc, tile_grid=tile_grid))
    return map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)


def test_big_mesh_is_cropped_to_the_used_tiles():
    res = _mapped(tile_grid=(300, 300))  # 4 cores on tiles (0..3, 0): a 300 x 300 mesh
    reg = used_region(res)
    assert (reg.gx, reg.gy) == (300, 300) and reg.cropped
    assert (reg.x0, reg.y0) == (0, 0) and reg.nx <= 4 + 1 and reg.ny <= 1 + 1
    for draw in (utilisation_figure, link_traffic_figure):
        fig = draw(res)
        w, h = fig.get_size_inches()
        assert w <= MAX_FIGURE_IN and h <= MAX_FIGURE_IN
        assert "of the 300x300 mesh" in fig.axes[0].get_title()
        plots._plt().close(fig)


def test_pngs_stay_small_on_a_huge_board(tmp_path):
    res = _mapped(tile_grid=(300, 300), chip_grid=(2, 2))
    written, notes = save_mapping_figures(res, tmp_path)
    assert notes == [] and len(written) == 2
    for p in written:
        w, h = _png_size(p)
        assert w * h <= (MAX_FIGURE_IN * 110 + 50) ** 2, (p.name, w, h)


def test_figure_size_capped_when_the_used_region_itself_is_huge(monkeypatch):
    res = _mapped(tile_grid=(300, 300))
    monkeypatch.setattr(plots, "used_region", lambda result, margin=1: plots.Region(0, 299, 0, 299, 300, 300))
    fig = utilisation_figure(res)
    assert max(fig.get_size_inches()) <= MAX_FIGURE_IN
    plots._plt().close(fig)


def test_small_mesh_is_drawn_whole():
    res = _mapped()
    reg = used_region(res)
    assert not reg.cropped and (reg.nx, reg.ny) == (2, 2)


def test_a_plot_that_cannot_be_drawn_is_skipped_with_a_note(tmp_path, monkeypatch):
    res = _mapped()

    def boom(result):
        raise MemoryError("Unable to allocate 969. MiB")

    monkeypatch.setitem(plots.FIGURES, "core_utilisation.png", boom)
    written, notes = save_mapping_figures(res, tmp_path)
    assert [p.name for p in written] == ["link_traffic.png"]
    assert len(notes) == 1 and "core_utilisation.png skipped" in notes[0] and "MemoryError" in notes[0]
    assert not (tmp_path / "core_utilisation.png").exists()


def test_save_figure_failure_returns_none_and_writes_nothing(tmp_path, monkeypatch):
    res = _mapped()
    fig = utilisation_figure(res)

    def fail(fig, path):
        raise MemoryError("no room")

    monkeypatch.setattr(plots, "save_png", fail)
    assert save_figure(fig, tmp_path / "u.png") is None
    assert not (tmp_path / "u.png").exists()


def test_write_mapping_notes_a_plot_it_could_not_draw(tmp_path, monkeypatch):
    """A figure that cannot be drawn (here: out of memory) leaves the other outputs intact, and
    report.json and summary.txt say which plot is missing and why."""
    import json

    from neurosim.app.outputs import write_mapping

    def boom(result):
        raise MemoryError("Unable to allocate 969. MiB")

    res = _mapped()
    _, written = write_mapping(res, tmp_path, partitioner="sequential", placer="identity", seed=0)
    assert "link_traffic.png" in written and (tmp_path / "link_traffic.png").exists()
    monkeypatch.setitem(plots.FIGURES, "link_traffic.png", boom)  # the same directory again (--force)
    text, written = write_mapping(res, tmp_path, partitioner="sequential", placer="identity", seed=0)
    assert written == ["report.json", "placement.json", "summary.txt", "core_utilisation.png"]
    assert (tmp_path / "core_utilisation.png").exists()
    assert not (tmp_path / "link_traffic.png").exists()  # the earlier mapping's plot is gone, not left stale
    notes = json.loads((tmp_path / "report.json").read_text())["notes"]
    assert any(n.startswith("plot link_traffic.png skipped") and "MemoryError" in n for n in notes)
    assert "plot link_traffic.png skipped" in text and (tmp_path / "placement.json").exists()
