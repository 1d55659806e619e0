"""`fastinit bench`'s sections, on a tiny buffer: the rows' roles, the
ratios comparison() takes from them, the thread counts and SIMD paths timed.
No timing is asserted, only how the results fit together."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from fastinit._tools import bench as _bench
from fastinit._backends import simd as _simd
from fastinit._backends import threads as _threads

SIZE = 1 << 12

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


def _run():
    before = _threads.get_num_threads()
    res = _bench.run(size=SIZE, repeat=1, rss_size=0, settle=0)
    assert _threads.get_num_threads() == before  # the thread-scaling section puts the count back
    return res, before


@pytest.fixture(scope="module")
def bench():
    return _run()


@pytest.fixture(scope="module")
def bench_without_torch():
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
        return _run()


def _rate(res, pick):
    """The one row's rate whose display name pick() accepts (by hand, not by role)."""
    (row,) = [r for r in res["rows"] if pick(r["method"])]
    return row["melem_s"]


def _by_name(res, prefix):
    return _rate(res, lambda name: name.startswith(prefix))


def _expected_comparison(res, torch_ran):
    he_n = _by_name(res, "fastinit he_normal(out=)")
    paths = {p["simd"]: p["he_normal"] for p in res["simd_paths"]}
    narrow, wide = _bench.simd_pair(res["machine"]["simd_available"])
    two = [t["speedup"] for t in res["threads"] if t["threads"] == 2]
    kaiming = _rate(res, lambda n: n.endswith("nn.init.kaiming_normal_")) if torch_ran else None
    cut = _rate(res, lambda n: n.endswith("trunc_normal_(std=.02, a=-.04, b=.04)")) if torch_ran else None
    return [
        he_n / _by_name(res, "numpy Generator.standard_normal"),
        he_n / kaiming if torch_ran else None,
        _by_name(res, "fastinit he_uniform(out=)") / _by_name(res, "numpy Generator.random"),
        _by_name(res, "fastinit truncated_normal") / cut if torch_ran else None,
        _by_name(res, "fastinit he_normal bfloat16") / _by_name(res, "fastinit he_normal float32"),
        two[0] if two else None,
        paths[narrow] / paths[wide] if {narrow, wide} <= paths.keys() else None,
    ]


LABELS = [
    "fastinit he_normal / numpy standard_normal(float32)",
    "fastinit he_normal / torch kaiming_normal_",
    "fastinit he_uniform / numpy random(float32)",
    "fastinit truncated_normal / torch trunc_normal_ (same cut)",
    "fastinit he_normal bfloat16 / float32 (elements per second)",
    "fastinit he_normal, 2 threads / 1 thread",
    "fastinit he_normal, {} / {} path".format(*_bench.simd_pair(_simd.available())),
]


@pytest.mark.parametrize("which", ["bench", "bench_without_torch"])
def test_every_row_has_a_unique_role_naming_its_library(which, request):
    res, _ = request.getfixturevalue(which)
    roles = [r["role"] for r in res["rows"]]
    assert len(roles) == len(set(roles)) and all(roles)
    for r in res["rows"]:
        assert r["who"] == ("fastinit" if r["role"].startswith("fastinit.") else "peer")
        assert r["method"].split()[0] == r["role"].split(".")[0].split("_")[0]  # numpy_recipe -> numpy
        assert set(r) == {"group", "method", "who", "role", "seconds", "melem_s", "gb_s",
                          "melem_s_min", "melem_s_max"}
    torch_rows = [r for r in res["rows"] if r["role"].startswith("torch.")]
    assert bool(torch_rows) == (HAVE_TORCH and which == "bench")
    assert [r["group"] for r in res["rows"]] == sorted(
        (r["group"] for r in res["rows"]), key=["bandwidth", "normal", "uniform", "truncated", "bfloat16"].index)


def test_torch_rows_only_where_torch_is_installed(bench):
    res, _ = bench
    roles = {r["role"] for r in res["rows"]}
    want = {"torch.normal_", "torch.kaiming_normal_", "torch.uniform_", "torch.kaiming_uniform_",
            "torch.trunc_normal_cut", "torch.trunc_normal_nocut", "torch.normal_bf16"}
    assert (want <= roles) if HAVE_TORCH else not (want & roles)


@pytest.mark.parametrize("which", ["bench", "bench_without_torch"])
def test_comparison_ratios_are_the_quotients_of_the_rows(which, request):
    res, _ = request.getfixturevalue(which)
    torch_ran = HAVE_TORCH and which == "bench"
    got = _bench.comparison(res)
    assert [label for label, _ in got] == LABELS
    for (label, ratio), want in zip(got, _expected_comparison(res, torch_ran)):
        if want is None:
            assert ratio is None, label
        else:
            assert ratio == pytest.approx(want, rel=1e-12), label
    # every ratio whose peers ran is there: only torch's (when it did not run) and avx2/avx512 (when this
    # CPU lacks one) may be missing; 2 threads are timed wherever there are at least 2
    missing = {label for label, ratio in got if ratio is None}
    allowed = set() if torch_ran else {LABELS[1], LABELS[3]}
    if not set(_bench.simd_pair(_simd.available())) <= set(_simd.available()):
        allowed.add(LABELS[6])
    if res["machine"]["threads"] < 2:
        allowed.add(LABELS[5])
    assert missing == allowed


def test_bf16_vs_f32_is_the_quotient_of_its_rows(bench):
    res, _ = bench
    assert res["bf16_vs_f32"] == pytest.approx(
        _by_name(res, "fastinit he_normal bfloat16") / _by_name(res, "fastinit he_normal float32"), rel=1e-12)


def test_thread_counts_run_from_one_to_the_configured_count(bench):
    res, configured = bench
    counts = [t["threads"] for t in res["threads"]]
    assert counts[0] == 1 and counts[-1] == configured == res["machine"]["threads"]
    assert counts == sorted(set(counts))
    assert all(c & (c - 1) == 0 for c in counts[:-1])  # 1, 2, 4, ... below the configured count
    assert res["threads"][0]["speedup"] == 1.0


def test_simd_paths_are_the_available_ones(bench):
    res, _ = bench
    assert [p["simd"] for p in res["simd_paths"]] == _simd.available() == res["machine"]["simd_available"]
    assert all(p["he_normal"] > 0 and p["he_uniform"] > 0 for p in res["simd_paths"])


def test_fresh_and_rss_sections(bench):
    res, _ = bench
    assert [r["method"] for r in res["fresh"]] == ["fastinit he_normal(shape) (new array)",
                                                    "numpy standard_normal(size, float32) (new array)"]
    assert res["rss"] is None  # rss_size=0 skips it
    assert _bench._rss(SIZE, 0) is None


def test_top_level_keys_and_report(bench):
    res, _ = bench
    assert set(res) == {"machine", "size", "dtype", "repeat", "settle", "rows", "threads", "simd_paths",
                        "fresh", "rss", "bf16_vs_f32"}
    text = _bench.report(res)
    for label in LABELS:
        assert label in text
    assert "-- normal (ratio to numpy Generator.standard_normal(float32, out=))" in text
    if HAVE_TORCH:
        assert "-- truncated (ratio to torch " in text and "trunc_normal_(std=.02, a=-.04, b=.04))" in text


def test_method_record_is_frozen():
    m = _bench.Method("fastinit.zeros", "bandwidth", "fastinit zeros", lambda: None)
    assert (m.itemsize, m.who, m.before, m.after) == (4, "fastinit", None, None)
    assert _bench.Method("numpy.fill", "bandwidth", "numpy ndarray.fill(0.0)", lambda: None).who == "peer"
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.role = "other"


@pytest.mark.parametrize("which", ["bench", "bench_without_torch"])
def test_the_figure_has_a_panel_per_group_and_the_threads(which, request, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba

    from fastinit.__main__ import save_figure

    res, _ = request.getfixturevalue(which)
    fig = _bench.figure(res)
    axes = fig.get_axes()
    groups = list(dict.fromkeys(r["group"] for r in res["rows"]))
    assert len(axes) == len(groups) + 1
    for ax, g in zip(axes, groups):
        rows = [r for r in res["rows"] if r["group"] == g]
        assert [t.get_text() for t in ax.get_yticklabels()] == [r["method"] for r in rows][::-1]
        bars = sorted(ax.patches, key=lambda b: b.get_y())
        assert [b.get_width() for b in bars] == pytest.approx([r["melem_s"] for r in rows][::-1])
        for b, r in zip(bars, rows[::-1]):  # fastinit in colour, its peers in grey
            assert b.get_facecolor() == to_rgba("C0" if r["who"] == "fastinit" else "0.6"), r["method"]
    assert [t.get_text() for t in axes[-1].get_yticklabels()] == [f"{t['threads']} threads"
                                                                  for t in res["threads"]][::-1]
    out = tmp_path / "bench.png"
    save_figure(fig, str(out), dpi=50)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["bench.png"]  # no temporary file left beside it


def test_a_figure_that_cannot_be_written_is_refused_before_the_timing(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for bad, says in ((tmp_path / "out.xyz", "cannot write .xyz files"), (tmp_path / "out", "has no extension"),
                      (tmp_path / "no" / "such" / "out.png", "does not exist")):
        with pytest.raises(SystemExit) as e:
            _bench.main(["--size", "1024", "--plot", str(bad)])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert "--plot" in err and says in err, err
        assert not capsys.readouterr().out  # nothing was timed
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_leaves_no_file(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from fastinit.__main__ import save_figure

    class Broken(Exception):
        pass

    fig = Figure()
    fig.savefig = lambda *a, **k: (_ for _ in ()).throw(Broken())
    (tmp_path / "keep.png").write_bytes(b"old")
    with pytest.raises(Broken):
        save_figure(fig, str(tmp_path / "keep.png"))
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"] and (tmp_path / "keep.png").read_bytes() == b"old"
