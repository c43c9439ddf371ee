#!/usr/bin/env bash
# Cross-builds the runtime and llmc-run for aarch64 Linux into build-aarch64/
# (clang 19 + lld, Debian's cross glibc and libstdc++; no LLVM or MLIR in
# them), then reports the runtime's size beside the host's. Run them under
# qemu: qemu-aarch64-static -cpu max -L /usr/aarch64-linux-gnu \
#   build-aarch64/bin/llmc-run run model.llmc --tokens 1,2,3
# Usage: scripts/build-aarch64.sh [ninja targets...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LLMC_AARCH64_BUILD_DIR:-$ROOT/build-aarch64}
for t in clang-19 ld.lld-19 qemu-aarch64-static; do
  command -v "$t" >/dev/null || { echo "build-aarch64: $t missing (run scripts/setup.sh)" >&2; exit 1; }
done
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || {
  echo "build-aarch64: no aarch64 glibc in /usr/aarch64-linux-gnu (run scripts/setup.sh)" >&2; exit 1; }
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLLMC_RUNTIME_ONLY=ON -DLLMC_WERROR=ON \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/aarch64-linux-gnu.cmake" >/dev/null
fi
if [ $# -gt 0 ]; then
  ninja -C "$BUILD" "$@"
else
  ninja -C "$BUILD" llmc-run llmc-runtime-shared llmc-runtime-nomsg
  ninja -C "$BUILD" runtime-size | grep -E "^aarch64 " || true
fi
