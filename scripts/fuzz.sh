#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS seconds under ASan + UBSan.
#
#   bash scripts/fuzz.sh TARGET SECONDS
#
# TARGET: llmc-safetensors-fuzz, llmc-gguf-fuzz (metadata, tensors and the
# tokenizer), llmc-config-fuzz (config.json), llmc-tokenizer-json-fuzz,
# llmc-tokenize-fuzz (the runtime's tokenizer on any text),
# llmc-metadata-fuzz (the artifact's FlatBuffer against FlatBuffers' own
# verifier), llmc-artifact-fuzz (the whole loader, metadata only).
# The fuzzers live in the sanitized build (build-asan, configured with
# -DLLMC_FUZZ=ON by scripts/test.sh). Seeds: test/fuzz/<corpus>/ (committed;
# test/fuzz/make_seeds.py), or for the two artifact targets, artifacts built
# from the test fixtures by this checkout's llmc (build/). The corpus grows in
# a scratch directory, never in the repository. A crash, sanitizer report,
# leak or timeout fails the run and leaves the input in
# build-asan/fuzz-crashes/ (rerun it: build-asan/bin/TARGET FILE).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LLMC_BUILD_DIR:-$ROOT/build}
ASAN_BUILD=${LLMC_ASAN_BUILD_DIR:-$ROOT/build-asan}
if [ $# -ne 2 ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
TARGET=$1
SECS=$2
BIN=$ASAN_BUILD/bin/$TARGET
[ -x "$BIN" ] || { echo "fuzz.sh: no $BIN (ninja -C $ASAN_BUILD $TARGET, with -DLLMC_FUZZ=ON)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/corpus" "$ASAN_BUILD/fuzz-crashes"

# Artifacts of this checkout: a q4 one with a tokenizer, an f32 one.
artifacts() {
  "$BUILD/bin/llmc" build "$BUILD/fixtures/llama3-tok" -o "$WORK/tok.llmc" \
    --quantization q4_g32 --max-context 64 2>/dev/null
  "$BUILD/bin/llmc" build "$BUILD/fixtures/llama3-gqa" -o "$WORK/f32.llmc" --max-context 64 2>/dev/null
}
MAXLEN=16384
case $TARGET in
  llmc-safetensors-fuzz) cp "$ROOT"/test/fuzz/safetensors/* "$WORK/corpus/"; MAXLEN=4096 ;;
  llmc-gguf-fuzz) cp "$ROOT"/test/fuzz/gguf/* "$WORK/corpus/" ;;
  llmc-config-fuzz) cp "$ROOT"/test/fuzz/config/* "$WORK/corpus/"; MAXLEN=8192 ;;
  llmc-tokenizer-json-fuzz) cp "$ROOT"/test/fuzz/tokenizer-json/* "$WORK/corpus/"; MAXLEN=65536 ;;
  llmc-tokenize-fuzz) cp "$ROOT"/test/fuzz/text/* "$WORK/corpus/"; MAXLEN=4096 ;;
  llmc-artifact-fuzz)
    artifacts
    cp "$WORK/tok.llmc" "$WORK/f32.llmc" "$WORK/corpus/"
    MAXLEN=$(( $(stat -c %s "$WORK/f32.llmc") + 4096 )) ;;
  llmc-metadata-fuzz)
    artifacts
    for a in tok f32; do  # the FlatBuffer: header bytes 16..31 give its offset and size
      python3 -c "import struct, sys; b = open(sys.argv[1], 'rb').read(); o, n = struct.unpack_from('<QQ', b, 16); open(sys.argv[2], 'wb').write(b[o:o + n])" \
        "$WORK/$a.llmc" "$WORK/corpus/$a.fb"
    done
    MAXLEN=$(( $(stat -c %s "$WORK/corpus/tok.fb") + 4096 )) ;;
  *) echo "fuzz.sh: unknown target $TARGET" >&2; exit 2 ;;
esac
SEEDS=$(ls "$WORK/corpus" | wc -l)
set +e
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  LSAN_OPTIONS=suppressions="$ROOT/scripts/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1 \
  "$BIN" -max_total_time="$SECS" -max_len="$MAXLEN" -timeout=20 -rss_limit_mb=2560 \
  -print_final_stats=1 -artifact_prefix="$ASAN_BUILD/fuzz-crashes/$TARGET-" "$WORK/corpus" \
  > "$WORK/log" 2>&1
RC=$?
set -e
RUNS=$(grep -oE 'stat::number_of_executed_units: +[0-9]+' "$WORK/log" | grep -oE '[0-9]+$' || echo 0)
COV=$(grep -oE 'cov: [0-9]+' "$WORK/log" | tail -1 | grep -oE '[0-9]+' || echo 0)
PEAK=$(grep -oE 'stat::peak_rss_mb: +[0-9]+' "$WORK/log" | grep -oE '[0-9]+$' || echo 0)
echo "fuzz $TARGET: ${SECS} s, $RUNS runs, coverage $COV edges, corpus $SEEDS seeds -> $(ls "$WORK/corpus" | wc -l) inputs, peak RSS ${PEAK} MB"
if [ $RC -ne 0 ]; then
  tail -60 "$WORK/log"
  echo "fuzz $TARGET: FAILED (exit $RC); the input is in $ASAN_BUILD/fuzz-crashes/" >&2
  exit 1
fi
