#!/usr/bin/env bash
# Where held-out items fall in a teacher's ranking vs where distillation's draws fall (issue 23).
#   bash bench/heldout_ranks.sh [BUILD_DIR] DATASET TEACHER_MODEL [SEED]
#   e.g. bash bench/heldout_ranks.sh build ml-1m results/defaults-ml-1m/runs/teacher-*-s1-*/best.pt
# Column "held-out": the share of test users whose held-out item the teacher ranks within the top
# k of the full catalog (its full-ranking HR@k, training items excluded). "rank draws": the share
# of the rank weights exp(-rank / T) over the default region that falls within the top k (the
# first draw's distribution; rrd's interesting items and kd's ranked candidates), with T and the
# pool from the catalog size as default_rank_region (src/distill/topn/distiller.h) states them.
# "uniform": a uniform candidate's chance to be in the top k (kd's and rrd's uniform draws).
# Writes results/bench/heldout-ranks-DATASET.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="$2"
model="$3"
seed="${4:-1}"
ks="10 30 100 300 500 1000 3000"
mkdir -p results/bench
out="results/bench/heldout-ranks-$dataset.json"
metrics=$(echo "$ks" | sed 's/ /,/g')
"$build/recpress" -q --seed "$seed" evaluate --data "$dataset" --split loo --model "$model" \
  --protocol full --metrics "hr@$metrics" -o "$out.tmp" > /dev/null
items=$("$build/recpress" data stats "$dataset" | sed -n 's/.* \/ \([0-9,]*\) items.*/\1/p' | tr -d ,)
python3 - "$out.tmp" "$out" "$items" "$ks" "$dataset" <<'PY'
import json, math, sys
src, dst, items, ks, dataset = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), sys.argv[5]
metrics = json.load(open(src))["metrics"]
t = min(max(items / 32.0, 10.0), 100.0)          # default_rank_region
pool = max(1, min(int(math.floor(5 * t + 0.5)), items // 2))
w = [math.exp(-(r + 1) / t) for r in range(pool)]
total = sum(w)
rows = []
print(f"{dataset}: {items:,} items; default region: top-{pool}, T = {t:g}")
print(f"{'k':>6} {'held-out':>9} {'rank draws':>11} {'uniform':>8}")
for k in ks:
    k = int(k)
    held = metrics[f"HR@{k}"]
    draws = sum(w[:min(k, pool)]) / total
    rows.append({"k": k, "heldout": held, "rank_draws": draws, "uniform": min(1.0, k / items)})
    print(f"{k:>6} {held:>9.3f} {draws:>11.3f} {min(1.0, k / items):>8.4f}")
json.dump({"dataset": dataset, "items": items, "pool": pool, "t": t, "rows": rows},
          open(dst + ".part", "w"), indent=2)
PY
mv "$out.part" "$out"
rm -f "$out.tmp"
