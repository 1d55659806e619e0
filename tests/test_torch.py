"""fastinit.torch: the torch.nn.init drop-in, the patch, and shard helpers."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import fastinit  # noqa: E402
import fastinit.torch as fit  # noqa: E402

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]

# name -> (call on a tensor with generator g, equivalent fastinit call on a numpy view)
FUNCS = {
    "uniform_": (lambda t, g: fit.uniform_(t, -0.5, 0.25, generator=g),
                 lambda v, r: fastinit.uniform(out=v, low=-0.5, high=0.25, rng=r)),
    "normal_": (lambda t, g: fit.normal_(t, 0.1, 0.02, generator=g),
                lambda v, r: fastinit.normal(out=v, mean=0.1, std=0.02, rng=r)),
    "trunc_normal_": (lambda t, g: fit.trunc_normal_(t, 0.0, 0.02, -0.04, 0.04, generator=g),
                      lambda v, r: fastinit.truncated_normal(out=v, std=0.02, a=-0.04, b=0.04, rng=r)),
    "xavier_uniform_": (lambda t, g: fit.xavier_uniform_(t, 2.0, generator=g),
                        lambda v, r: fastinit.xavier_uniform(out=v, gain=2.0, rng=r)),
    "xavier_normal_": (lambda t, g: fit.xavier_normal_(t, generator=g), lambda v, r: fastinit.xavier_normal(out=v, rng=r)),
    "kaiming_uniform_": (lambda t, g: fit.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
                         lambda v, r: fastinit.he_uniform(out=v, a=math.sqrt(5), rng=r)),
    "kaiming_normal_": (lambda t, g: fit.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", generator=g),
                        lambda v, r: fastinit.he_normal(out=v, mode="fan_out", nonlinearity="relu", rng=r)),
    "orthogonal_": (lambda t, g: fit.orthogonal_(t, generator=g), lambda v, r: fastinit.orthogonal(out=v, rng=r)),
    "sparse_": (lambda t, g: fit.sparse_(t, 0.25, generator=g), lambda v, r: fastinit.sparse(out=v, sparsity=0.25, rng=r)),
}


def _np(t):
    if t.dtype is torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("contiguous", [True, False])
def test_fills_in_place_with_fastinit_values(name, dtype, contiguous):
    base = torch.zeros(96, 64, dtype=dtype)
    t = base if contiguous else base.t()  # (64, 96), not contiguous
    ptr = t.data_ptr()
    g = fastinit.default_rng(11)
    assert FUNCS[name][0](t, g) is t
    assert t.data_ptr() == ptr and t.shape == ((96, 64) if contiguous else (64, 96))
    want = np.zeros(tuple(t.shape), dtype=_np(t).dtype)
    FUNCS[name][1](want, fastinit.default_rng(11))
    np.testing.assert_array_equal(_np(t.contiguous()).view(np.uint8), want.view(np.uint8))


def test_parameters_and_requires_grad():
    p = torch.nn.Parameter(torch.empty(128, 256))
    assert fit.kaiming_normal_(p) is p and p.requires_grad
    assert abs(p.detach().std().item() - math.sqrt(2 / 256)) < 0.02 * math.sqrt(2 / 256)


def test_torch_generator_maps_to_a_key_like_torch_uses_it():
    a, b = torch.empty(1000), torch.empty(1000)
    fit.normal_(a, generator=torch.Generator().manual_seed(5))
    fit.normal_(b, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    g = torch.Generator().manual_seed(5)
    s = int(torch.randint(0, 2**63 - 1, (), generator=torch.Generator().manual_seed(5)))
    fit.normal_(b, generator=g)
    assert torch.equal(b, torch.from_numpy(fastinit.normal((1000,), rng=s)))
    fit.normal_(b, generator=g)  # the generator moved on
    assert not torch.equal(a, b)
    torch.manual_seed(3)  # None means torch's default generator
    fit.uniform_(a)
    torch.manual_seed(3)
    fit.uniform_(b)
    assert torch.equal(a, b)


def test_distributions_are_torchs():
    w = torch.empty(512, 1024)
    fit.kaiming_uniform_(w, a=math.sqrt(5))  # nn.Linear's default: U(+-1/sqrt(fan_in))
    bound = 1 / math.sqrt(1024)
    assert w.abs().max() <= bound and w.abs().max() > 0.999 * bound
    assert abs(w.std().item() - bound / math.sqrt(3)) < 0.01 * bound
    fit.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
    assert w.abs().max() <= 0.04
    fit.eye_(w[:5, :7])
    assert torch.equal(w[:5, :7], torch.eye(5, 7))
    c = torch.empty(6, 3, 3, 3)
    assert torch.equal(fit.dirac_(c.clone(), 2), torch.nn.init.dirac_(c.clone(), 2))
    fit.constant_(w, 0.3)
    assert (w == 0.3).all()
    fit.zeros_(w)
    assert not w.any()
    fit.ones_(w)
    assert (w == 1).all()
    assert fit.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)


def test_what_fastinit_cannot_fill_goes_to_torch():
    m = torch.empty(3, 4, device="meta")
    assert fit.kaiming_normal_(m) is m  # torch's meta no-op
    i = torch.zeros(3, 4, dtype=torch.int64)
    with pytest.raises(RuntimeError):  # torch's own error for an integer tensor
        fit.normal_(i)
    c = torch.zeros(3, 4, dtype=torch.complex64)
    fit.normal_(c)  # torch fills complex tensors; fastinit does not
    assert c.abs().sum() > 0
    with pytest.warns(UserWarning, match="zero-element"):
        fit.kaiming_uniform_(torch.empty(0, 3))


def test_patch_routes_module_construction():
    assert not fit.installed()
    torch.manual_seed(0)
    with fit.patch():
        assert fit.installed() and torch.nn.init.kaiming_uniform_ is fit.kaiming_uniform_
        lin = torch.nn.Linear(1024, 512)
        emb = torch.nn.Embedding(1000, 64)
        conv = torch.nn.Conv2d(16, 32, 3)
    assert not fit.installed() and torch.nn.init.kaiming_uniform_ is fit._ORIGINAL["kaiming_uniform_"]
    bound = 1 / math.sqrt(1024)
    assert lin.weight.abs().max() <= bound and abs(lin.weight.std().item() - bound / math.sqrt(3)) < 0.02 * bound
    assert lin.bias.abs().max() <= bound
    assert abs(emb.weight.std().item() - 1.0) < 0.02
    assert conv.weight.abs().max() <= 1 / math.sqrt(16 * 9)
    torch.manual_seed(0)
    with fit.patch():
        lin2 = torch.nn.Linear(1024, 512)
    assert torch.equal(lin.weight, lin2.weight)  # torch.manual_seed reproduces a fastinit model


def test_install_for_good():
    fit.install()
    try:
        assert torch.nn.init.normal_ is fit.normal_
        with fit.patch():
            pass
        assert fit.installed()  # a patch block does not undo an install
    finally:
        fit.uninstall()
    assert torch.nn.init.normal_ is fit._ORIGINAL["normal_"]


@pytest.mark.parametrize("n,world", [(10, 3), (8, 4), (3, 4), (0, 2), (17, 5)])
def test_shard_index_is_torch_chunk(n, world):
    full = torch.arange(n)
    chunks = list(torch.chunk(full, world)) if n else []
    for r in range(world):
        part = full[shard_index := fit.shard_index((n,), r, world)]
        want = chunks[r] if r < len(chunks) else full[:0]
        assert torch.equal(part, want), (r, shard_index)


def test_plain_rank_shards_assemble_the_full_init():
    shape, world = (37, 24), 4
    full = fastinit.he_normal(shape, rng=9)
    parts = []
    for r in range(world):
        idx = fit.shard_index(shape, r, world, dim=1)
        t = torch.empty(tuple(np.empty(shape)[idx].shape))
        fit.init_shard_(t, "he_normal", shape, idx, rng=9)
        parts.append(t)
    assert torch.equal(torch.cat(parts, dim=1), torch.from_numpy(full))
