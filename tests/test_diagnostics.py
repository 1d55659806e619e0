"""The physics of initialization, as fastinit.diagnostics measures it."""

import sys

import numpy as np
import pytest

from fastinit import diagnostics as D


def test_small_weights_vanish_in_tanh_nets_xavier_does_not():
    xavier = D.activation_stats("xavier_normal", depth=10, width=512, activation="tanh")
    small = D.activation_stats("normal:0.01", depth=10, width=512, activation="tanh")
    assert small["std"][-1] < 1e-3 * xavier["std"][-1]
    assert xavier["std"][-1] > 0.1


def test_unit_normal_weights_saturate_tanh():
    big = D.activation_stats("normal:1", depth=10, width=512, activation="tanh")
    assert all(s > 0.95 for s in big["std"])  # nearly every unit at -1 or +1


def test_he_keeps_relu_nets_alive():
    he = D.activation_stats("he_normal", depth=10, width=512, activation="relu")
    first = he["std"][0]
    assert all(first / 2 <= s <= 2 * first for s in he["std"])
    xavier = D.activation_stats("xavier_normal", depth=10, width=512, activation="relu")
    assert xavier["std"][-1] < 0.1 * he["std"][-1]  # Xavier halves the variance per ReLU layer


def test_zero_weights_make_every_unit_identical():
    z = D.activation_stats("zeros", depth=5, width=64, activation="tanh", keep=True)
    assert all(u == 0 for u in z["unit_std"])
    for a in z["activations"]:
        assert (a == a[:, :1]).all()
    c = D.activation_stats("constant:0.3", depth=3, width=16, activation="tanh", keep=True)
    assert all(u < 1e-12 for u in c["unit_std"])  # a constant init: identical units too, whatever the value


@pytest.mark.parametrize("sigma", [0.01, 0.05, 0.2])
def test_variance_of_a_linear_unit_is_n_var_w_var_x(sigma):
    """Var(s) = n Var(w) Var(x): one linear layer, unit-variance inputs."""
    n = 512
    s = D.activation_stats(f"normal:{sigma}", depth=1, width=n, activation="linear", batch=2000, rng=3)
    measured = s["std"][0] ** 2
    assert abs(measured / (n * sigma**2) - 1) < 0.05


@pytest.mark.parametrize("activation", D.ACTIVATIONS)
def test_every_activation_runs_and_gradients_reach_the_first_layer(activation):
    s = D.activation_stats("lecun_normal", depth=4, width=32, activation=activation, batch=64)
    assert len(s["mean"]) == len(s["std"]) == len(s["grad_std"]) == 4
    assert all(np.isfinite(s["grad_std"])) and s["grad_std"][0] > 0


def test_a_callable_initializer():
    s = D.activation_stats(lambda shape, rng: np.eye(*shape), depth=3, width=8, activation="linear", batch=100)
    assert s["init"] == "<lambda>"
    assert abs(s["std"][2] - s["std"][0]) < 1e-12  # the identity keeps everything


@pytest.mark.parametrize("kw,msg", [({"activation": "gelu"}, "activation must be one of"),
                                    ({"init": "normal:x"}, "is not a number"),
                                    ({"init": "he_normal:2"}, "only normal:STD"),
                                    ({"init": "nope"}, "unknown initializer"), ({"depth": 0}, "depth must be"),
                                    ({"width": 1.5}, "width must be"), ({"batch": 1}, "batch must be")])
def test_bad_arguments(kw, msg):
    args = {"init": "he_normal", "depth": 2, "width": 8, "batch": 10, **kw}
    with pytest.raises(ValueError, match=msg):
        D.activation_stats(**args)


def test_cli_table_and_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "fig.png"
    assert D.main(["--activation", "relu", "--init", "zeros,he_normal", "--depth", "3", "--width", "32",
                   "--batch", "50", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "activation relu" in out and "he_normal" in out and len(out.splitlines()) >= 5
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit) as exc:
        D.main(["--init", "bogus"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == \
        "fastinit diagnose: error: argument --init: unknown initializer 'bogus'"


def _small(activation):
    return [D.activation_stats(i, depth=10, width=64, activation=activation, batch=200, keep=True)
            for i in ("zeros", "normal:0.01", "normal:1", "xavier_normal", "he_normal")]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_every_histogram_of_the_figure_shows_a_shape_not_a_spike(activation):
    """Each panel has its own x range: randn's ReLU layers (13 to 1e12) and
    0.01 randn's tanh layers (0.2 to 3e-7) are no single bar beside their
    row's widest layer."""
    pytest.importorskip("matplotlib")
    results = _small(activation)
    fig = D._figure(results)
    hists = fig.axes[2:]  # after the two curves, row by row
    assert len(hists) == 5 * 10
    for row, r in enumerate(results):
        for layer in range(10):
            ax = hists[row * 10 + layer]
            counts = np.array([p.get_height() for p in ax.patches])
            if r["init"] == "zeros":
                assert ax.get_xlabel() == "all 0" and counts.max() == counts.sum()
                continue
            assert counts.sum() > (0.4 if activation == "relu" else 0.9) * 200 * 64  # (ReLU: the nonzero half)
            spread = 0.5 if r["init"] == "normal:1" and activation == "tanh" else 0.3  # saturated: two bars at +-1
            assert counts.max() < spread * counts.sum(), (r["init"], layer + 1, ax.get_xlabel())
            # the range is written under it, and is the panel's (with a margin of at most 5%)
            label = ax.get_xlabel()
            hi = float(label.split()[-1].lstrip("\u00b1"))
            lo = 0.0 if label.startswith("0 to ") else -hi
            assert label in (f"0 to {hi:.2g}", f"\u00b1{hi:.2g}")
            left, right = ax.get_xlim()
            width = right - left
            rounding = 0.05 * hi  # the label has 2 digits
            assert abs(left - lo + 0.04 * width / 1.08) <= rounding + 1e-12 * width
            assert abs(right - hi - 0.04 * width / 1.08) <= rounding + 1e-12 * width


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_figure_has_no_blank_band(tmp_path, activation):
    """No run of blank pixel rows taller than 0.4 inch (at the figure's 80
    dpi) anywhere: under the legend, between the sections, at the foot."""
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    png = tmp_path / "fig.png"
    D.plot(_small(activation), png)
    img = imread(png)[..., :3]
    blank = (img > 0.98).all(axis=(1, 2))
    longest = run = 0
    for b in blank:
        run = run + 1 if b else 0
        longest = max(longest, run)
    assert longest < 0.4 * 80, longest


def test_plot_checks_matplotlib_before_computing_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed

    def no_work(*args, **kwargs):
        raise AssertionError("the table was computed before --plot was checked")

    monkeypatch.setattr(D, "activation_stats", no_work)
    with pytest.raises(SystemExit) as exc:
        D.main(["--depth", "2", "--width", "8", "--plot", str(tmp_path / "fig.png")])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == "fastinit diagnose: error: argument --plot: needs matplotlib (pip install matplotlib)"
    assert not (tmp_path / "fig.png").exists()


def test_a_diverging_init_still_gives_a_table_and_a_figure(tmp_path, capsys):
    """normal:1e300 overflows to inf and nan: the table says so, the figure
    draws what is finite (no histogram of NaN)."""
    pytest.importorskip("matplotlib")
    png = tmp_path / "big.png"
    assert D.main(["--activation", "relu", "--init", "normal:1e300,zeros", "--depth", "3", "--width", "8",
                   "--batch", "5", "--plot", str(png)]) == 0
    out, err = capsys.readouterr()
    assert "inf" in out and "nan" in out and png.stat().st_size > 0
    assert err == ""  # no overflow warnings either
