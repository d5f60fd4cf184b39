"""House style: one colour-blind-safe palette, one font size scale, figures that fit an A4 page."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib as mpl
import matplotlib.colors as mcolors
import pytest

from mscfm.plots import style

PLOTS_DIR = Path(style.__file__).resolve().parent
# Okabe & Ito (2008), "Color Universal Design": the eight colours, written out independently of
# the module under test.
OKABE_ITO_HEX = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                 "#CC79A7"}
A4_TEXT_WIDTH_IN = 6.3  # A4 (8.27 in) less Sphinx's LaTeX margins, rounded up
FONT_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
             "ytick.labelsize", "legend.fontsize")
COLOUR_KEYWORDS = {"color", "colour", "c", "facecolor", "edgecolor", "markerfacecolor",
                   "markeredgecolor", "ecolor"}


def _hex(colour: str) -> str:
    return mcolors.to_hex(colour).upper()


def _is_grey(colour: str) -> bool:
    red, green, blue = mcolors.to_rgb(colour)
    return red == green == blue


def test_default_colour_cycle_is_okabe_ito():
    style.apply_style()
    cycle = [_hex(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert set(cycle) == OKABE_ITO_HEX and len(cycle) == len(OKABE_ITO_HEX)
    assert {_hex(c) for c in style.OKABE_ITO.values()} == OKABE_ITO_HEX


def test_font_sizes_are_a_fixed_scale_restored_by_apply_style():
    style.apply_style()
    sizes = {key: mpl.rcParams[key] for key in FONT_KEYS}
    assert all(isinstance(size, int | float) for size in sizes.values()), sizes
    assert sizes["axes.titlesize"] >= sizes["font.size"] >= sizes["xtick.labelsize"]
    mpl.rcParams.update({key: 20 for key in FONT_KEYS})
    style.apply_style()
    assert {key: mpl.rcParams[key] for key in FONT_KEYS} == sizes


@pytest.mark.parametrize("kwargs", [{}, {"nrows": 2}, {"ncols": 3}])
def test_new_figure_fits_an_a4_text_width(kwargs):
    fig, _ = style.new_figure(**kwargs)
    width, height = fig.get_size_inches()
    assert width <= A4_TEXT_WIDTH_IN and 0 < height <= 9.0


def _plot_modules() -> list[Path]:
    return sorted(p for p in PLOTS_DIR.glob("*.py") if p.name != "__init__.py")


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


@pytest.mark.parametrize("path", [p for p in _plot_modules() if p.name != "style.py"],
                         ids=lambda p: p.name)
def test_plot_modules_make_figures_only_with_new_figure(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for call in _calls(tree):
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            assert not (func.value.id in {"plt", "pyplot"} and func.attr in
                        {"figure", "subplots", "subplot_mosaic"}), f"{path.name}:{call.lineno}"
        if _name(call) == "new_figure":
            width = call.args[0] if call.args else next(
                (k.value for k in call.keywords if k.arg == "width"), None)
            if isinstance(width, ast.Constant):
                assert width.value <= A4_TEXT_WIDTH_IN, f"{path.name}:{call.lineno}"


@pytest.mark.parametrize("path", _plot_modules(), ids=lambda p: p.name)
def test_literal_colours_are_okabe_ito_or_grey(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    literals = [k.value.value for call in _calls(tree) for k in call.keywords
                if k.arg in COLOUR_KEYWORDS and isinstance(k.value, ast.Constant)
                and isinstance(k.value.value, str)]
    literals += [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                 and isinstance(node.value, str) and mcolors.is_color_like(node.value)
                 and node.value.startswith("#")]
    for colour in literals:
        assert _hex(colour) in OKABE_ITO_HEX or _is_grey(colour), f"{path.name}: {colour}"
