#!/usr/bin/env bash
# Measure the BLAS candidates LibTorch can use on this machine, with `recpress doctor`'s GEMMs
# (fp32 3706x128 @ 128x256, a NeuMF-sized item tower; and 256x64 @ 64x32, one MLP layer).
# Each candidate runs in its own process because the BLAS and its core type are fixed at load.
#   bash bench/blas_candidates.sh [BUILD_DIR] [OUT_JSON]
set -uo pipefail
build="${1:-build}"
out="${2:-results/bench/blas.json}"
bin="$build/recpress"
lib=/usr/lib/x86_64-linux-gnu
rows=()
json="["
measure() {  # name, env assignments...
  local name="$1"; shift
  local text
  text="$(env RECPRESS_ENV_READY=1 "$@" "$bin" doctor 2>&1)" || { echo "  $name: failed"; return; }
  local big small bf16 lib_used
  big=$(sed -n 's/^GEMM fp32 3706x128x256: \([0-9.]*\).*/\1/p' <<<"$text")
  small=$(sed -n 's/^GEMM fp32 256x64x32: *\([0-9.]*\).*/\1/p' <<<"$text")
  bf16=$(sed -n 's/^GEMM bf16 3706x128x256: \([0-9.]*\).*/\1/p' <<<"$text")
  lib_used=$(sed -n 's/^BLAS (sgemm_): *//p' <<<"$text")
  printf '%-34s %10s %10s %10s   %s\n' "$name" "$big" "$small" "${bf16:-n/a}" "$lib_used"
  [ "$json" != "[" ] && json+=","
  json+="{\"candidate\":\"$name\",\"gemm_3706x128x256_gflops\":${big:-0},\"gemm_256x64x32_gflops\":${small:-0},\"bf16_gflops\":${bf16:-0},\"sgemm_library\":\"$lib_used\"}"
}
printf '%-34s %10s %10s %10s   %s\n' "candidate" "big GF/s" "small GF/s" "bf16 GF/s" "sgemm_ from"
[ -e "$lib/blas/libblas.so.3" ] && measure "reference BLAS (libblas3)" LD_LIBRARY_PATH="$lib/blas"
[ -e "$lib/blis-serial/libblas.so.3" ] && measure "BLIS 0.9 serial" LD_LIBRARY_PATH="$lib/blis-serial"
for core in Prescott Haswell SkylakeX; do
  measure "OpenBLAS serial, core $core" LD_LIBRARY_PATH="$lib/openblas-serial" OPENBLAS_CORETYPE=$core
done
json+="]"
mkdir -p "$(dirname "$out")"
echo "$json" > "$out"
echo "(bf16 goes through oneDNN, not the BLAS; wrote $out)"
