#!/usr/bin/env bash
# The main job, on a fresh machine: set up, build llmc, compile the bundled
# example model for the host, and generate with it.
#
# The example is a tiny random-weight Llama 3.1 architecture checkpoint
# (examples/README.md) generated deterministically here; until the tokenizer
# lands (issue 4), generation is token ids in, token ids out (greedy).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LLMC_BUILD_DIR:-$ROOT/build}

bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh" llmc

MODEL=$BUILD/examples/tiny-llama31
if [ ! -f "$MODEL/config.json" ]; then
  python3 "$ROOT/test/fixtures/gen_fixtures.py" "$BUILD/examples/gen" --only llama31-rope >/dev/null
  rm -rf "$MODEL" && mv "$BUILD/examples/gen/llama31-rope" "$MODEL" && rm -rf "$BUILD/examples/gen"
fi

"$BUILD/bin/llmc" build "$MODEL" -o "$BUILD/examples/tiny-llama31.llmc"
"$BUILD/bin/llmc" inspect "$BUILD/examples/tiny-llama31.llmc"
echo "== llmc run (prompt token ids -> 32 greedy token ids) =="
"$BUILD/bin/llmc" run "$BUILD/examples/tiny-llama31.llmc" \
  --tokens 1,17,42,99,5,200,33,7 --max-new 32 --ignore-eos
