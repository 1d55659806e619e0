"""A Sphinx extension: the performance page's tables and figures, generated
at every build from the `fastinit bench --json` files kept in
docs/performance/ (one per machine), so that every figure on the page is
one a run printed.

It writes docs/performance/generated/ (git-ignored): results.rst (included
by docs/performance.rst) and one PNG per file, drawn by `fastinit bench
--plot`'s own figure.
"""

from __future__ import annotations

import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent.parent / "performance"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {row[0]}")
        out += [f"     - {c}" for c in row[1:]]
    return out + [""]


def _literal(text: str) -> str:
    return "``" + text.replace("`", "'") + "``"


def results_rst(res: dict, name: str, figure: str | None) -> list[str]:
    """The page's section for one bench --json result."""
    from fastinit._tools import bench

    m = res["machine"]
    title = f"{m['cpu']}, {m['cores']} cores"
    out = [title, "-" * len(title), "",
           f"From ``docs/performance/{name}``: {res['size']:,} float32 elements "
           f"({res['size'] * 4 / 2**20:.0f} MiB), the median of {res['repeat']} runs after a warm-up; "
           f"fastinit on {m['threads']} threads, SIMD path {m['simd']} "
           f"(available: {', '.join(m['simd_available'])}), OpenMP {'yes' if m.get('openmp') else 'no'}.", ""]
    if figure:
        out += [f".. image:: {figure}", f"   :alt: fastinit bench on {title}", ""]
    for g in bench.GROUPS:
        rows, ref = bench.group_rows(res, g)
        if not rows:
            continue
        out += [f"**{g}** (ratio to {_literal(ref['method'])})", ""]
        out += _table(["method", "Melem/s", "slowest-fastest", "GB/s", "ratio"],
                      [[_literal(r["method"]), f"{r['melem_s']:.0f}", f"{r['melem_s_min']:.0f}-{r['melem_s_max']:.0f}",
                        f"{r['gb_s']:.2f}", f"{r['melem_s'] / ref['melem_s']:.1f}x"] for r in rows])
    out += ["**threads** (fastinit he_normal float32)", ""]
    out += _table(["threads", "Melem/s", "ratio to 1 thread"],
                  [[str(t["threads"]), f"{t['melem_s']:.0f}", f"{t['speedup']:.2f}x"] for t in res["threads"]])
    out += ["**SIMD paths** (fastinit, Melem/s)", ""]
    out += _table(["path", "he_normal", "he_uniform"],
                  [[p["simd"], f"{p['he_normal']:.0f}", f"{p['he_uniform']:.0f}"] for p in res["simd_paths"]])
    out += ["**comparison** (ratios of median rates, this run)", ""]
    out += _table(["comparison", "ratio"],
                  [[_literal(what), "n/a" if got is None else f"{got:.2f}x"] for what, got in bench.comparison(res)])
    return out


def generate(folder: pathlib.Path = HERE, figures: bool = True) -> pathlib.Path:
    """Write folder/generated/results.rst (and the figures); return its path."""
    out_dir = folder / "generated"
    out_dir.mkdir(exist_ok=True)
    lines: list[str] = []
    files = sorted(folder.glob("*.json"))
    if not files:
        lines = ["No `fastinit bench --json` file is kept in docs/performance/ yet.", ""]
    for f in files:
        res = json.loads(f.read_text())
        png = None
        if figures:
            from fastinit.__main__ import save_figure
            from fastinit._tools import bench

            save_figure(bench.figure(res), str(out_dir / f"{f.stem}.png"), dpi=90, bbox_inches="tight",
                        pad_inches=0.15)
            png = f"performance/generated/{f.stem}.png"  # relative to performance.rst, which includes the page
        lines += results_rst(res, f.name, png)
    target = out_dir / "results.rst"
    target.write_text("\n".join(lines) + "\n")
    return target


def _on_builder_inited(app):
    generate()


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
