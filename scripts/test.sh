#!/usr/bin/env bash
# Sets up, builds and runs every test suite: the GoogleTest unit tests and
# the lit suites (via ctest; the aarch64 suite under qemu-user, from the
# cross build in build-aarch64/; the OpenCL suite on PoCL and Oclgrind; the
# Vulkan suite on lavapipe with the validation layer; the Metal suite on the
# MSL-on-CPU harness), then the hostile-input
# parsers' unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer (and the lit suite
# runs artifacts with crafted metadata through the sanitized llmc-run), the
# runtime tests under ThreadSanitizer, then every libFuzzer target for
# LLMC_FUZZ_SECONDS (30) seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LLMC_BUILD_DIR:-$ROOT/build}
ASAN_BUILD=${LLMC_ASAN_BUILD_DIR:-$ROOT/build-asan}

bash "$ROOT/scripts/setup.sh"

echo "== build (sanitized: parsers and runtime) =="
if [ ! -f "$ASAN_BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DLLMC_SANITIZE=ON \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
fi
cmake -DLLMC_FUZZ=ON "$ASAN_BUILD" >/dev/null  # the libFuzzer targets (scripts/fuzz.sh)
ASAN_TARGETS=$(bash -c "cd '$ROOT' && cat scripts/asan-targets.txt" | tr '\n' ' ')
FUZZ_TARGETS="llmc-safetensors-fuzz llmc-gguf-fuzz llmc-config-fuzz llmc-tokenizer-json-fuzz
  llmc-tokenize-fuzz llmc-metadata-fuzz llmc-artifact-fuzz"
# llmc-run too: the lit suite runs hostile artifacts through it
# (test/runtime/craft/crafted-metadata-asan.test).
ninja -C "$ASAN_BUILD" $ASAN_TARGETS llmc-run $FUZZ_TARGETS
echo "== tests under ASan + UBSan =="
for t in $ASAN_TARGETS; do
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$ROOT/scripts/lsan.supp" \
    UBSAN_OPTIONS=print_stacktrace=1 LLMC_REQUIRE_OPENCL=1 LLMC_REQUIRE_VULKAN=1 "$ASAN_BUILD/bin/$t" --gtest_brief=1
done

echo "== the runtime under ThreadSanitizer (contexts decoding concurrently, the thread pool) =="
TSAN_BUILD=${LLMC_TSAN_BUILD_DIR:-$ROOT/build-tsan}
if [ ! -f "$TSAN_BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$TSAN_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMC_TSAN=ON \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
fi
ninja -C "$TSAN_BUILD" llmc-runtime-tests
# The GPU HALs' tests run driver threads TSan cannot see (PoCL, lavapipe).
TSAN_OPTIONS=halt_on_error=1 "$TSAN_BUILD/bin/llmc-runtime-tests" --gtest_brief=1 \
  --gtest_filter='-*OpenCL*:*Vulkan*'

echo "== build =="
bash "$ROOT/scripts/build.sh"
echo "== build: runtime and llmc-run for aarch64 (cross) =="
bash "$ROOT/scripts/build-aarch64.sh"
echo "== llama.cpp for the llama.cpp-made GGUF test (built once into ~/.cache/llmc-peer) =="
# test/gguf/llamacpp-quantized.test imports files made by llama.cpp's own
# llama-quantize and compares perplexity with llama-perplexity. A machine
# where llama.cpp cannot be built skips that test (lit: UNSUPPORTED) and
# says so here.
if [ -z "${LLMC_LLAMA_CPP_BIN:-}" ] &&
   ! python3 "$ROOT/bench/peer_llamacpp.py" --build-peer-only; then
  echo "note: llama.cpp could not be built: test/gguf/llamacpp-quantized.test is skipped"
fi
echo "== tests =="
# The aarch64, OpenCL, Vulkan and Metal (MSL-on-CPU) suites must run here, never be skipped
# (test/lit.cfg.py).
cd "$BUILD" && LLMC_REQUIRE_AARCH64=1 LLMC_REQUIRE_OPENCL=1 LLMC_REQUIRE_VULKAN=1 LLMC_REQUIRE_METAL=1 \
  LLMC_ASAN_RUNNER="$ASAN_BUILD/bin/llmc-run" LLMC_REQUIRE_ASAN=1 ctest --output-on-failure
echo "== fuzzing: each target ${LLMC_FUZZ_SECONDS:-30} s under ASan + UBSan (scripts/fuzz.sh) =="
for t in $FUZZ_TARGETS; do
  bash "$ROOT/scripts/fuzz.sh" "$t" "${LLMC_FUZZ_SECONDS:-30}"
done
echo "== the runtime's size per part, and the embed example (examples/embed-c) =="
ninja -C "$BUILD" runtime-size | grep -E "^(x86_64|aarch64) "
cmake --install "$BUILD" --prefix "$BUILD/embed-prefix" --component runtime >/dev/null
CC=clang-19 LLMC="$BUILD/bin/llmc" bash "$ROOT/examples/embed-c/build.sh" "$BUILD/embed-prefix" \
  "$ROOT/examples/kjv-llama" "$BUILD/embed-c" --quantization q8
"$BUILD/embed-c/embed-c" "$BUILD/embed-c/kjv.llmc" "And the LORD said unto Moses" 32
CC=clang-19 LLMC="$BUILD/bin/llmc" LLMC_PC=llmc-runtime-nomsg bash "$ROOT/examples/embed-c/build.sh" \
  "$BUILD/embed-prefix" "$ROOT/examples/kjv-llama" "$BUILD/embed-c-nomsg" --quantization q8
