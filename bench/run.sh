#!/usr/bin/env bash
# Run the benchmarks: prints tables and writes JSON under results/bench/.
#   bash bench/run.sh [BUILD_DIR]        (or: ./run.sh bench)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
out="results/bench"
mkdir -p "$out"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
echo "== foundation: data loading, negative sampling, full evaluation"
"$build/recpress_bench_data" --benchmark_out="$out/foundation.json" --benchmark_out_format=json
echo
echo "== runtime: top-10 over an ML-1M-sized catalog, per dim and dtype; model loading"
"$build/recpress_bench_runtime" --benchmark_out="$out/runtime.json" --benchmark_out_format=json
echo
echo "== BLAS candidates for LibTorch's fp32 GEMM"
bash bench/blas_candidates.sh "$build" "$out/blas.json"
