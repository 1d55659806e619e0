"""README "### Why initialization matters": every number it quotes from the
table of `fastinit diagnose` is the number that table prints, as printed."""

import pathlib
import re

import pytest

from fastinit import diagnostics as D

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
pytestmark = pytest.mark.skipif(not README.exists(), reason="no README beside the tests")
INITS = ("zeros", "normal:0.01", "normal:1", "xavier_normal", "he_normal")  # diagnose's default --init


def _section():
    text = README.read_text()
    start = text.index("### Why initialization matters")
    return " ".join(text[start:text.index("\n### ", start + 1)].split())  # one line: quotes may wrap


@pytest.fixture(scope="module")
def printed():
    """{activation: {init: (std cells, grad cells)}} exactly as the table
    of the README's two commands prints them (defaults: 10 x 512, batch
    1000, seed 0)."""
    out = {}
    for act in ("tanh", "relu"):
        results = [D.activation_stats(i, 10, 512, act, 1000, 0) for i in INITS]
        rows = D.table(results).splitlines()[2:]
        cells = {i: ([], []) for i in INITS}
        for row in rows:
            for init, (s, g) in zip(INITS, re.findall(r"(\S+) \(\s*(\S+)\)", row)):
                cells[init][0].append(s)
                cells[init][1].append(g)
        out[act] = cells
    return out


# (the README's words, activation, init, "std" or "grad", {layer: the number quoted in those words})
QUOTES = [
    ("std by about √0.05 ≈ 0.22 (0.216, 0.0487, 0.011, ...)", "tanh", "normal:0.01", "std",
     {1: "0.216", 2: "0.0487", 3: "0.011"}),
    ("to a std of 3.38e-07 at layer 10", "tanh", "normal:0.01", "std", {10: "3.38e-07"}),
    ("the gradients vanish with them (1.6e-06 at layer 1)", "tanh", "normal:0.01", "grad", {1: "1.6e-06"}),
    ("every unit saturates at ±1 (std 0.982)", "tanh", "normal:1", "std", {1: "0.982", 10: "0.982"}),
    ("from 1 at layer 10 to 8e+04 at layer 1", "tanh", "normal:1", "grad", {10: "1", 1: "8e+04"}),
    ("gradients are 8e+04 times apart", "tanh", "normal:1", "grad", {1: "8e+04"}),
    ("slowly narrowing (std 0.628 → 0.229)", "tanh", "xavier_normal", "std", {1: "0.628", 10: "0.229"}),
    ("gradients from 1 down to 0.39 at layer 1", "tanh", "xavier_normal", "grad", {10: "1", 1: "0.39"}),
    ("layer 1 piles up towards ±1 (std 0.721", "tanh", "he_normal", "std", {1: "0.721"}),
    ("(std 0.557 at layer 10)", "tanh", "he_normal", "std", {10: "0.557"}),
    ("gradients 1.3 at layer 1", "tanh", "he_normal", "grad", {1: "1.3"}),
    ("variance per layer (std 0.584 → 0.0296)", "relu", "xavier_normal", "std", {1: "0.584", 10: "0.0296"}),
    ("towards the input (0.048 at layer 1)", "relu", "xavier_normal", "grad", {1: "0.048"}),
    ("at every depth (std 0.825 → 0.946)", "relu", "he_normal", "std", {1: "0.825", 10: "0.946"}),
    ("0.01·randn vanishes (std 1.04e-08 at layer 10", "relu", "normal:0.01", "std", {10: "1.04e-08"}),
    ("gradients 7.5e-08 at layer 1", "relu", "normal:0.01", "grad", {1: "7.5e-08"}),
    ("randn explodes (std 1.04e+12 at layer 10)", "relu", "normal:1", "std", {10: "1.04e+12"}),
    ("from 13.2 at layer 1", "relu", "normal:1", "std", {1: "13.2"}),
    ("its gradients going back (7.5e+10 at layer 1)", "relu", "normal:1", "grad", {1: "7.5e+10"}),
]


@pytest.mark.parametrize("words,act,init,kind,quoted", QUOTES, ids=[q[0][:40] for q in QUOTES])
def test_each_quoted_number_is_the_printed_one(printed, words, act, init, kind, quoted):
    assert words in _section()
    cells = printed[act][init][0 if kind == "std" else 1]
    for layer, number in quoted.items():
        assert number in words
        assert cells[layer - 1] == number, (layer, cells)


def _rate(cells, quoted):
    """The factor a layer of printed cells: their geometric mean, rounded as
    quoted, and every step within 10% of it."""
    x = [float(c) for c in cells]
    steps = [b / a for a, b in zip(x, x[1:])]
    mean = (x[-1] / x[0]) ** (1 / len(steps))
    digits = len(quoted.replace(".", "").lstrip("0"))
    assert float(f"{mean:.{digits}g}") == float(quoted), (mean, quoted)
    assert all(abs(s / mean - 1) < 0.1 for s in steps), steps


def test_the_quoted_rates_and_ranges(printed):
    text = _section()
    tanh, relu = printed["tanh"], printed["relu"]
    # every unit equal with zeros: std 0 at every layer, a gradient of 0 below the output layer
    assert "(std 0, and a gradient of 0 below the output layer" in text
    assert set(tanh["zeros"][0]) == {"0"} and set(tanh["zeros"][1][:-1]) == {"0"}
    # randn under tanh: saturated at every layer, the gradient about x3.5 a layer going back
    assert set(tanh["normal:1"][0]) == {"0.982"} and "1 − 0.982² ≈ 0.036" in text
    assert "by about 3.5 a layer" in text
    _rate(tanh["normal:1"][1][::-1], "3.5")
    # ReLU: Xavier's std about x0.7 a layer, randn's about x16, He's gradients 0.99 to 1.1
    assert "the std about × 0.7 a layer" in text and "about × 16 a layer" in text
    _rate(relu["xavier_normal"][0], "0.7")
    _rate(relu["normal:1"][0], "16")
    assert "gradient std between 0.99 and 1.1 at every layer" in text
    he = [float(c) for c in relu["he_normal"][1]]
    assert min(he) == 0.99 and max(he) == 1.1
