#!/usr/bin/env bash
# Fuzz the .rpm loader with libFuzzer (clang from Debian) under AddressSanitizer and UBSan for a
# bounded time, starting from the regression corpus in tests/runtime/corpus (which the unit tests
# replay on every run). New inputs that reach new code are added to results/fuzz/corpus; a crash
# stops the run and leaves its input in results/fuzz/ (copy it into tests/runtime/corpus once
# fixed, so it stays a test).
#   bash bench/fuzz_model.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
seconds="${2:-180}"
out=results/fuzz
mkdir -p "$out/corpus"
command -v clang++ > /dev/null || apt-get install -y -qq clang > /dev/null
[ -f "$build/generated/recpress_model_generated.h" ] || cmake --build "$build" --target recpress_runtime
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Isrc -I"$build/generated" fuzz/model_fuzzer.cc src/runtime/model.cc src/runtime/kernels.cc src/runtime/encode.cc src/runtime/load.cc src/runtime/topk.cc src/runtime/features.cc src/runtime/ctr_model.cc src/runtime/next_item_model.cc \
  -o "$out/model_fuzzer"
cd "$out"
./model_fuzzer -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
  corpus ../../tests/runtime/corpus 2>&1 | tail -15
echo "corpus: $(ls corpus | wc -l) inputs in $out/corpus"
