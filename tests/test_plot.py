"""Plots: what is drawn is the data (lines, heat map, rectangles, markers read back from the
figure), files are written as PNG / SVG / PDF through the safe output, and bad input is refused."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="plots: pip install matplotlib (the plot extra)")

from rfsearch.core.erf import ERF  # noqa: E402
from rfsearch.errors import SpecError  # noqa: E402
from rfsearch.graph import compute_graph  # noqa: E402
from rfsearch.graph.erf import graph_erf  # noqa: E402
from rfsearch.plot import Plot, plot_erf, plot_growth, plot_unit  # noqa: E402

SEED = "conv3p1,maxpool2,conv3p1,maxpool2"


def test_growth_lines_are_the_rf_and_jump():
    p = plot_growth(SEED, "32x32")
    top, bottom = p.figure.axes
    assert top.lines[0].get_ydata().tolist() == [1, 3, 4, 8, 10]
    assert bottom.lines[0].get_ydata().tolist() == [1, 1, 2, 2, 4]
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["input", "0: conv3p1", "1: maxpool2", "2: conv3p1",
                                                               "3: maxpool2"]  # fmt: skip
    assert "sees 10x10" in top.get_title()


def test_growth_of_a_graph_per_axis_with_min_and_global_nodes():
    g = compute_graph("zoo:resnet18")
    p = plot_growth(g)
    top = p.figure.axes[0]
    labels = [line.get_label() for line in top.lines]
    assert labels == ["RF (every axis)", "RF min over paths (every axis)", "whole input (global)"]
    rf = top.lines[0].get_ydata()
    assert rf[-4] == 435 and np.isnan(rf[-1])  # layer4's last relu; fc sees the whole input (marked x)
    assert top.get_yscale() == "log"
    aniso = plot_growth("conv1x7p0x3,conv3s2x1")
    assert [line.get_label() for line in aniso.figure.axes[0].lines] == ["RF (axis 0)", "RF (axis 1)"]


def test_unit_draws_the_counts_the_rf_and_the_blind_spots():
    e = graph_erf("conv3d2,conv3d2,conv3d4", "40x40")
    p = plot_unit("conv3d2,conv3d2,conv3d4", input_size="40x40")
    ax = p.figure.axes[0]
    heat = [im for im in ax.images if im.get_array().shape == e.counts.shape][0]
    assert np.allclose(heat.get_array().filled(0), e.counts / e.counts.max())
    rf = [r for r in ax.patches if r.get_label().startswith("RF ")][0]
    (r0, r1), (c0, c1) = e.extent
    assert (rf.get_x(), rf.get_y(), rf.get_width(), rf.get_height()) == (c0 - 0.5, r0 - 0.5, c1 - c0 + 1, r1 - r0 + 1)
    holes = [line for line in ax.lines if line.get_label().startswith("blind spots")][0]
    assert len(holes.get_xdata()) == e.blind_spots == 208 and holes.get_label() == "blind spots: 208"
    assert "RF 17x17" in ax.get_title()


def test_unit_over_an_image(tmp_path):
    from matplotlib import image as mpimg

    picture = np.random.default_rng(0).random((48, 40, 3))
    path = tmp_path / "picture.png"
    mpimg.imsave(path, picture)
    p = plot_unit(SEED, unit=(0, 0), image=path, borders=True)  # the input size is the image's
    ax = p.figure.axes[0]
    assert ax.images[0].get_array().shape[:2] == (48, 40)
    assert [r.get_label() for r in ax.patches if r.get_label().startswith("input")] == ["input 48x40"]
    with pytest.raises(SpecError, match="no such image file"):
        plot_unit(SEED, image=tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(SpecError, match="bad.png: cannot read the image"):
        plot_unit(SEED, image=tmp_path / "bad.png")
    with pytest.raises(SpecError, match="an image must have shape"):
        plot_unit(SEED, image=np.zeros((4, 4, 2)))


def test_one_axis_and_any_erf():
    p = plot_unit("conv3,conv2d4,conv3", input_size=30)
    (bars,) = p.figure.axes[0].containers
    e = graph_erf("conv3,conv2d4,conv3", 30)
    assert [b.get_height() for b in bars] == (e.counts / e.counts.max()).tolist()
    assert [b.get_x() + 0.5 for b in bars] == e.positions(0).tolist()
    empirical = ERF(np.ones((5, 5)) / 25, (0, 0), ((0, 4), (0, 4)), False, "gradient", (2, 2), "x", (5, 5), True, 3)
    p = plot_erf(empirical)
    assert "empirical ERF (mean |gradient| over 3 inputs)" in p.figure.axes[0].get_title()
    with pytest.raises(SpecError, match="draws 1-D and 2-D inputs"):
        plot_unit("conv3", input_size="8x8x8")
    with pytest.raises(SpecError, match="plot_erf draws an ERF"):
        plot_erf("conv3")


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_files_by_suffix(tmp_path, suffix, magic):
    path = tmp_path / f"out{suffix}"
    plot_growth(SEED).save(path)
    assert path.read_bytes().startswith(magic)
    link = tmp_path / f"link{suffix}"
    link.symlink_to(path)
    plot_unit(SEED, input_size="16x16").save(link)  # a symlink stays one; its target gets the file
    assert link.is_symlink() and path.read_bytes().startswith(magic)


def test_bad_names_and_inline_display(tmp_path):
    p = plot_growth(SEED)
    with pytest.raises(SpecError, match="must end in .png, .svg, .pdf"):
        p.save(tmp_path / "out.gif")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(OSError, match="Is a directory"):
        p.save(tmp_path / "dir.png")
    assert isinstance(p, Plot) and p._repr_png_().startswith(b"\x89PNG") and "Plot" in repr(p)


def test_graph_results_show_as_html():
    from rfsearch.graph import GraphBuilder

    g = GraphBuilder(input_size=16)
    g.conv("input", 3, padding=1, id="<b>stem</b>")
    html = compute_graph(g.build())._repr_html_()
    assert "&lt;b&gt;stem&lt;/b&gt;" in html and "<b>stem" not in html
    assert html.startswith("<table>") and "RF 3" in html


@pytest.mark.slow  # ~4 s: subprocesses importing matplotlib
def test_cli_plot(tmp_path):
    run = lambda *a: subprocess.run(["rfsearch", "plot", *a], cwd=tmp_path, capture_output=True, text=True)  # noqa: E731
    ok = run("growth", SEED, "-i", "32x32", "-o", "g.svg")
    assert ok.returncode == 0 and (tmp_path / "g.svg").read_text().startswith("<?xml")
    ok = run("unit", SEED, "-i", "32x32", "-u", "0x0", "--borders", "-o", "u.png")
    assert ok.returncode == 0 and (tmp_path / "u.png").read_bytes().startswith(b"\x89PNG")
    for args, message in [(("unit", SEED, "-o", "u.gif"), "-o u.gif: the file name must end in .png, .svg, .pdf"),
                          (("unit", SEED, "-i", "8x8", "-u", "9x9", "-o", "u.png"), "unit index on axis 0"),
                          (("unit", "zoo:nope", "-o", "u.png"), "no built-in model 'nope'"),
                          (("unit", SEED, "--erf", "empirical", "-o", "u.png"), "--erf empirical needs a PyTorch model"),
                          (("unit", SEED, "-i", "8x8", "--image", "missing.png", "-o", "u.png"), "no such image file")]:  # fmt: skip
        bad = run(*args)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and message in bad.stderr, bad.stderr


def test_import_does_not_load_matplotlib():
    code = "import sys, rfsearch.plot; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
