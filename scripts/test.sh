#!/usr/bin/env bash
# The test command: install what is missing, build under ASan+UBSan, run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan -j"$(nproc)"
