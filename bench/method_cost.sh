#!/usr/bin/env bash
# What each top-N distillation method costs per epoch in the setting a converged study uses
# (issue 19: <= 3x the student alone): BPR-MF-200 teacher -> MF-20, BPR with 4 negatives, lazy
# Adam, batch 1024, default engine, the terms at `distill_share` SHARE of each batch, and the
# epoch *after* the schedules have annealed (anneal_epochs 1, two epochs, the second one timed:
# DE's and HTD's selections are one-hot by then, as in most of a converged run).
#   bash bench/method_cost.sh [BUILD_DIR] [DATASET] [SHARE] [METHODS]
#   e.g. bash bench/method_cost.sh build ml-1m 0.25 "kd rrd derrd"
# The teacher is trained once (10 epochs) into results/bench/method-cost-DATASET/. Prints a table
# and writes results/bench/method-cost-DATASET-SHARE.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-1m}"
share="${3:-0.25}"
methods="${4:-kd rd cd de rrd derrd htd hint rkd online}"
bin="$build/recpress"
out="results/bench/method-cost-$dataset"
mkdir -p "$out"
export OMP_NUM_THREADS=1
common=(--data "$dataset" --split loo --protocol sampled:uniform:499 --metrics "hr@10 ndcg@10"
        --monitor NDCG@10 --loss bpr --optimizer lazyadam --lr 0.001 --batch-size 1024 -q)
declare -A method=([kd]="kd" [rd]="rd:lambda=5" [cd]="cd" [de]="de" [rrd]="rrd" [derrd]="derrd"
                   [htd]="htd" [hint]="hint" [rkd]="rkd" [online]="kd")

teacher="$out/teacher"
[ -s "$teacher/best.pt" ] || "$bin" train "${common[@]}" --model mf:dim=200 --epochs 10 \
  --patience 0 -o "$teacher" > "$teacher.log" 2>&1

run() {  # name args...
  local dir="$out/$1-$share"; shift
  "$bin" "$@" -o "$dir" > "$dir.log" 2>&1 || { echo "failed: $dir"; tail -3 "$dir.log"; return 1; }
}
run alone train "${common[@]}" --model mf:dim=20 --epochs 2 --patience 0
for m in $methods; do
  scheme=(); [ "$m" = online ] && scheme=(--scheme online)
  run "$m" distill "${common[@]}" --student mf:dim=20 --teacher "$teacher/best.pt" \
    --method "${method[$m]}" "${scheme[@]}" --epochs 2 --patience 0 --anneal-epochs 1 \
    --distill-share "$share"
done

python3 - "$out" "$share" alone $methods > "results/bench/method-cost-$dataset-$share.json" <<'PY'
import json, os, sys
out, share, names = sys.argv[1], sys.argv[2], sys.argv[3:]
def second_epoch(n):
    h = json.load(open(os.path.join(out, f"{n}-{share}", "history.json")))
    return h[1]["train_seconds"]
def engine(n):
    return json.load(open(os.path.join(out, f"{n}-{share}", "results.json"))).get("engine", "?")
alone = second_epoch("alone")
print(f'{"method":<8} {"s/epoch":>8} {"x alone":>8} {"engine":>7}   (distill_share {share})',
      file=sys.stderr)
rows = []
for n in names:
    s = second_epoch(n)
    print(f'{n:<8} {s:8.2f} {s / alone:7.1f}x {engine(n):>7}', file=sys.stderr)
    rows.append({"method": n, "distill_share": float(share), "seconds_per_epoch": s,
                 "vs_alone": s / alone, "engine": engine(n)})
print(json.dumps(rows, indent=1))
PY
echo "(wrote results/bench/method-cost-$dataset-$share.json)"
