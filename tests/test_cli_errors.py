"""Every bad value of a `fastinit bench` or `fastinit diagnose` flag is one
error line, `fastinit <cmd>: error: ...`, after argparse's usage lines, exit
status 2, no traceback, and nothing measured or computed first."""

import subprocess
import sys

import pytest

import fastinit.__main__ as cli
from fastinit._tools import bench as _bench
from fastinit import diagnostics

GiB = 2**30


@pytest.fixture
def no_work(monkeypatch):
    """A refused command line must not start the work: the benchmark and the
    statistics fail the test if they are reached.  The machine has 16 GiB,
    whatever this one has, so that the memory checks are the same everywhere."""

    def started(*args, **kwargs):
        raise AssertionError("the work started before the flags were checked")

    monkeypatch.setattr(_bench, "run", started)
    monkeypatch.setattr(diagnostics, "activation_stats", started)
    monkeypatch.setattr(cli, "physical_memory", lambda: 16 * GiB)


def _cli(argv, capsys):
    """cli.main as the console script runs it: its status, stdout, stderr.  An
    exception other than SystemExit escapes (a traceback fails the test)."""
    try:
        rc = cli.main(argv)
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_one_error(err, prog, flag):
    """argparse's usage (a 'usage: PROG' line, then indented lines), then
    exactly one line: 'PROG: error: ...' naming the flag."""
    lines = err.splitlines()
    assert len(lines) >= 2, err
    assert lines[0].startswith(f"usage: {prog} "), err
    assert all(line.startswith(" ") for line in lines[1:-1]), err
    assert lines[-1].startswith(f"{prog}: error: "), err
    assert sum("error" in line for line in lines) == 1, err
    assert flag in lines[-1], err
    assert "Traceback" not in err


BENCH = [
    (["--size", "0"], "--size"),
    (["--size", "-5"], "--size"),
    (["--size", "1023"], "--size"),
    (["--size", "1e6"], "--size"),
    (["--size", "big"], "--size"),
    (["--size", str(10**14)], "--size"),  # 1.1 PiB: more than the machine's memory
    (["--size", str(2 * GiB)], "--size"),  # 2**31 elements: 24 GiB of buffers, more than 16 GiB
    (["--size", str(10**30)], "--size"),
    (["--repeat", "0"], "--repeat"),
    (["--repeat", "-1"], "--repeat"),
    (["--repeat", "2.5"], "--repeat"),
    (["--threads", "0"], "--threads"),
    (["--threads", "-1"], "--threads"),
    (["--threads", "two"], "--threads"),
    (["--rss-size", "-1"], "--rss-size"),
    (["--rss-size", "10"], "--rss-size"),
    (["--rss-size", str(10**14)], "--rss-size"),
    (["--settle", "nan"], "--settle"),
    (["--settle", "inf"], "--settle"),
    (["--settle", "-0.5"], "--settle"),
    (["--settle", "1e30"], "--settle"),
    (["--settle", "soon"], "--settle"),
    (["--json", ""], "--json"),
    (["--json", "."], "--json"),
    (["--json", "no/such/folder/out.json"], "--json"),
    (["--device", "tpu"], "--device"),
    (["--size"], "--size"),
    (["--bogus"], "--bogus"),
    # the GPU comparison's own parser: its flags are checked before torch is asked for a device
    (["--device", "cuda", "--size", "4095"], "--size"),
    (["--device", "cuda", "--size", "-1"], "--size"),
    (["--device", "cuda", "--repeat", "0"], "--repeat"),
    (["--device", "cuda", "--json", ""], "--json"),
    (["--device", "cuda", "--threads", "2"], "--threads"),
]

DIAGNOSE = [
    (["--init", ""], "--init"),
    (["--init", " , ,"], "--init"),
    (["--init", "nope"], "--init"),
    (["--init", "he_normal,nope"], "--init"),
    (["--init", "normal:x"], "--init"),
    (["--init", "normal:-1"], "--init"),
    (["--init", "normal:nan"], "--init"),
    (["--init", "uniform:-1"], "--init"),
    (["--init", "he_normal:2"], "--init"),
    (["--init", "calculate_gain"], "--init"),
    (["--activation", "gelu"], "--activation"),
    (["--depth", "0"], "--depth"),
    (["--depth", "-3"], "--depth"),
    (["--depth", "1.5"], "--depth"),
    (["--width", "0"], "--width"),
    (["--width", "x"], "--width"),
    (["--width", "100000"], "--width"),  # 10 layers of 1e5 units: 745 GiB of weights
    (["--depth", str(10**9), "--width", "8"], "--depth"),
    (["--batch", "1"], "--batch"),
    (["--batch", "0"], "--batch"),
    (["--batch", str(10**12)], "--batch"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "0x1"], "--seed"),
    (["--plot", ""], "--plot"),
    (["--plot", "."], "--plot"),
    (["--plot", "no/such/folder/fig.png"], "--plot"),
    (["--plot", "fig.nosuchformat"], "--plot"),
    (["--plot", "fig"], "--plot"),
    (["--depth", "41", "--plot", "fig.png"], "--plot"),
    (["--init", ",".join(["he_normal"] * 13), "--plot", "fig.png"], "--plot"),
    (["--bogus"], "--bogus"),
]


@pytest.mark.parametrize("argv,flag", BENCH, ids=[" ".join(a) for a, _ in BENCH])
def test_bad_bench_flags(argv, flag, no_work, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = _cli(["bench", *argv], capsys)
    assert rc == 2
    assert out == ""
    _assert_one_error(err, "fastinit bench", flag)


@pytest.mark.parametrize("argv,flag", DIAGNOSE, ids=[" ".join(a)[:40] for a, _ in DIAGNOSE])
def test_bad_diagnose_flags(argv, flag, no_work, capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")  # so that a --plot case fails on its value, not on matplotlib
    monkeypatch.chdir(tmp_path)
    rc, out, err = _cli(["diagnose", *argv], capsys)
    assert rc == 2
    assert out == ""  # no table
    _assert_one_error(err, "fastinit diagnose", flag)
    assert not any(tmp_path.iterdir())  # no figure


def test_the_memory_checks_use_this_machines_memory(no_work, capsys, monkeypatch):
    """Within the memory, the checks pass (and the work is reached)."""
    monkeypatch.setattr(cli, "physical_memory", lambda: 1024 * GiB)
    with pytest.raises(AssertionError, match="the work started"):
        cli.main(["bench", "--size", str(2 * GiB)])
    with pytest.raises(AssertionError, match="the work started"):
        cli.main(["diagnose", "--width", "4096"])


def test_cuda_without_a_cuda_device(capsys, monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    rc, out, err = _cli(["bench", "--device", "cuda", "--repeat", "1"], capsys)
    assert rc == 2 and out == ""
    _assert_one_error(err, "fastinit bench", "--device")
    assert "no CUDA device" in err


def test_cuda_without_torch(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    rc, out, err = _cli(["bench", "--device", "cuda"], capsys)
    assert rc == 2 and out == ""
    _assert_one_error(err, "fastinit bench", "--device")
    assert "needs torch" in err


def test_out_of_memory_during_the_run_is_one_error(monkeypatch, capsys):
    """What the checks let through and then cannot be allocated: the
    command's own error, naming the flag that sized it."""

    def oom(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.0 GiB")

    monkeypatch.setattr(_bench, "run", oom)
    monkeypatch.setattr(diagnostics, "activation_stats", oom)
    rc, out, err = _cli(["bench", "--size", "1024"], capsys)
    assert rc == 2 and out == ""
    _assert_one_error(err, "fastinit bench", "--size")
    rc, out, err = _cli(["diagnose", "--depth", "2", "--width", "8"], capsys)
    assert rc == 2 and out == ""
    _assert_one_error(err, "fastinit diagnose", "--width")


def test_the_last_resort_memory_guard(monkeypatch, capsys):
    """A MemoryError no command handled is one line, exit status 1; any
    other exception is a bug and still shows as one."""
    import fastinit._tools.cli_model as model_cli

    def oom(argv):
        raise MemoryError("Unable to allocate 12.0 GiB for an array")

    monkeypatch.setattr(model_cli, "main", oom)
    rc, out, err = _cli(["init-model", "--preset", "gpt2", "--out", "x.safetensors"], capsys)
    assert rc == 1 and out == ""
    assert err == "fastinit init-model: error: out of memory: Unable to allocate 12.0 GiB for an array\n"

    def bug(argv):
        raise KeyError("a programming error")

    monkeypatch.setattr(model_cli, "main", bug)
    with pytest.raises(KeyError):
        cli.main(["init-model"])


@pytest.mark.parametrize("argv,what", [([], "a command is required"), (["nope"], "unknown command 'nope'"),
                                       (["--bogus"], "unknown option '--bogus'")])
def test_no_or_unknown_command(argv, what, capsys):
    rc, out, err = _cli(argv, capsys)
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("usage: fastinit {bench,init-model,diagnose,config}")
    assert lines[1].startswith(f"fastinit: error: {what}")


def test_config_with_a_bad_flag(capsys):
    rc, out, err = _cli(["config", "--bogus"], capsys)
    assert rc == 2 and out == ""
    _assert_one_error(err, "fastinit config", "--bogus")


@pytest.mark.parametrize("argv,prog,flag", [(["bench", "--threads", "0"], "fastinit bench", "--threads"),
                                            (["bench", "--settle", "nan"], "fastinit bench", "--settle"),
                                            (["diagnose", "--init", ""], "fastinit diagnose", "--init")])
def test_through_the_interpreter(argv, prog, flag, tmp_path):
    """The same, end to end: a new process, no traceback on its stderr."""
    p = subprocess.run([sys.executable, "-m", "fastinit", *argv], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    _assert_one_error(p.stderr, prog, flag)
