#!/usr/bin/env bash
# Builds examples/embed-c against an installed llmc (cmake --install build
# --prefix PREFIX): llmc compiles the model into a static library, and one
# ordinary compiler command links it, the app and the runtime that
# pkg-config finds. Then prints what the binary is made of.
#
# Usage: examples/embed-c/build.sh PREFIX MODEL_DIR OUT_DIR [llmc build flags...]
#   e.g. examples/embed-c/build.sh /tmp/llmc examples/kjv-llama /tmp/embed --quantization q8
#        /tmp/embed/embed-c /tmp/embed/kjv.llmc "And the LORD said unto Moses"
# LLMC_PC=llmc-runtime-nomsg links the runtime without its error messages.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=$1 MODEL=$2 OUT=$3
shift 3
CC=${CC:-cc}
PC=${LLMC_PC:-llmc-runtime}
LLMC=${LLMC:-$PREFIX/bin/llmc} # the compiler: the prefix's, or $LLMC
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
mkdir -p "$OUT"

# The model: libkjv.a (its kernels), kjv.h (llmc_model_kjv()), kjv.llmc.
"$LLMC" build "$MODEL" --emit static-lib -o "$OUT/libkjv.a" "$@" 2>"$OUT/build.log" ||
  { cat "$OUT/build.log" >&2; exit 1; }

# The program: -Os, unused sections dropped, stripped, as an app ships.
# shellcheck disable=SC2046  # pkg-config's words are meant to split
"$CC" -Os -ffunction-sections -fdata-sections -I"$OUT" $(pkg-config --cflags "$PC") \
  "$HERE/app.c" "$OUT/libkjv.a" $(pkg-config --libs "$PC") \
  -Wl,--gc-sections -Wl,-Map,"$OUT/embed-c.map" -s -o "$OUT/embed-c"

python3 "$HERE/size_split.py" "$OUT/embed-c.map" "$OUT/embed-c"
