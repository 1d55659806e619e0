#!/usr/bin/env bash
# Build fastinit's core with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DFASTINIT_SANITIZE=ON) into a scratch virtual environment and run the
# test suite under them.  Python itself is not instrumented, so the ASan
# runtime is preloaded; Python's own allocator is switched to malloc so that
# ASan sees its memory too.  Any finding aborts the run with a report.
#
#   bash tests/sanitizers.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-${TMPDIR:-/tmp}/fastinit-sanitizers}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q scikit-build-core cython cython-cmake numpy
"$VENV/bin/pip" install -q --no-build-isolation '.[test]' -Ccmake.define.FASTINIT_SANITIZE=ON \
    -Cbuild-dir="$VENV/build"
ASAN_RUNTIME=$(${CC:-gcc} -print-file-name=libasan.so)
UBSAN_RUNTIME=$(${CC:-gcc} -print-file-name=libubsan.so)
cd tests  # not the repository root: the tests import the installed package
# Leak checking is off: CPython keeps its objects alive until exit.
LD_PRELOAD="$ASAN_RUNTIME:$UBSAN_RUNTIME" PYTHONMALLOC=malloc \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:check_initialization_order=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
