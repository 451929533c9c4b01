#!/usr/bin/env bash
# Training throughput of NeuMF-64 (NCF tower 128-64-32-16) on an ML-1M-shaped synthetic dataset
# (3,000 users x 3,700 items, ~480k training interactions, 4 negatives each), one thread,
# at batch 256 and 2048, with Adam (dense updates of whole embedding tables) and plain SGD.
#   bash bench/throughput.sh [BUILD_DIR]      -> table + results/bench/throughput.json
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
out=results/bench/throughput
mkdir -p "$out"
data="synthetic:users=3000,items=3700,mean=160,min=20"
printf '%-10s %-6s %12s %10s\n' optimizer batch "samples/s" "s/epoch"
json="["
for opt in adam lazyadam sgd; do
  for batch in 256 2048; do
    "$build/recpress" train -q 2>/dev/null --data "$data" --model neumf:dim=64,layers=3 --optimizer "$opt" \
      --batch-size "$batch" --epochs 1 --patience 0 -o "$out/$opt-$batch" > /dev/null
    read -r sps spe < <(python3 -c "import json;r=json.load(open('$out/$opt-$batch/results.json'));print(round(r['samples_per_second']), round(r['seconds_per_epoch'],2))")
    printf '%-10s %-6s %12s %10s\n' "$opt" "$batch" "$sps" "$spe"
    [ "$json" != "[" ] && json+=","
    json+="{\"optimizer\":\"$opt\",\"batch\":$batch,\"samples_per_second\":$sps,\"seconds_per_epoch\":$spe}"
  done
done
echo "$json]" > results/bench/throughput.json
