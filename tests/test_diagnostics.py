"""The physics of initialization, as fastinit.diagnostics measures it."""

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
    assert D.main(["--init", "bogus"]) == 2
