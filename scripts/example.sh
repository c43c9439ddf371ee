#!/usr/bin/env bash
# The main job, on a fresh machine: set up, build llmc, compile the bundled
# example model (examples/kjv-llama: a 3.9M-parameter Llama 3 architecture
# model trained on the King James Bible) for the host, and generate text.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LLMC_BUILD_DIR:-$ROOT/build}

bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh" llmc

ART=$BUILD/examples/kjv-llama.q8.llmc
mkdir -p "$BUILD/examples"
"$BUILD/bin/llmc" build "$ROOT/examples/kjv-llama" -o "$ART" --quantization q8
"$BUILD/bin/llmc" inspect "$ART"
echo "== llmc run -p \"And the LORD said unto Moses\" =="
"$BUILD/bin/llmc" run "$ART" -p "And the LORD said unto Moses" --max-new 80
echo "== sampled (temperature 0.8, top-p 0.9, seed 7) =="
"$BUILD/bin/llmc" run "$ART" -p "In the beginning" --max-new 80 --temp 0.8 --top-p 0.9 --seed 7
