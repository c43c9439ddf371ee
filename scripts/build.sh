#!/usr/bin/env bash
# Configures and builds llmc into build/ (Release, clang 19, Ninja, ccache).
# Usage: scripts/build.sh [ninja targets...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LLMC_BUILD_DIR:-$ROOT/build}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLLMC_WERROR=ON \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19
fi
ninja -C "$BUILD" "$@"
