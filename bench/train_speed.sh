#!/usr/bin/env bash
# Training speed, the two engines side by side in one run (issue 19): each workload trains one
# epoch with `--engine torch` (LibTorch autograd) and `--engine native` (train/ncf_step.h),
# alternating A B A B, REPS times; the table shows each engine's median seconds per epoch
# (training only, from results.json) and the ratio, and the test metrics of the last pair (the same
# run up to float rounding).
#   bash bench/train_speed.sh [BUILD_DIR] [DATASET] [REPS]      (default build ml-1m 2)
# Workloads: NeuMF with NCF's sizing (factor 32, tower 256-128-64-32: neumf:dim=32,mlp_dim=128),
# BCE with 4 negatives, batch 256, lazy Adam and dense Adam (guoyang9/NCF's setting); BPR-MF-200
# and MF-20 with BPR, batch 1024, lazy Adam (bench/distill.sh's teacher and student).
# Writes results/bench/train-speed-DATASET.json. Run `recpress doctor` to name the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-1m}"
reps="${3:-2}"
bin="$build/recpress"
out="results/bench/train-speed-$dataset"
mkdir -p "$out"
export OMP_NUM_THREADS=1

ncf=(--loss bce --negatives 4 --batch-size 256 --model neumf:dim=32,layers=3,mlp_dim=128)
bpr=(--loss bpr --batch-size 1024 --optimizer lazyadam)
declare -A args=(
  [neumf-lazyadam]="${ncf[*]} --optimizer lazyadam"
  [neumf-adam]="${ncf[*]} --optimizer adam"
  [bprmf200]="${bpr[*]} --model mf:dim=200"
  [mf20]="${bpr[*]} --model mf:dim=20")
workloads=(neumf-lazyadam neumf-adam bprmf200 mf20)

run() {  # workload engine rep
  local dir="$out/$1-$2-$3"
  # shellcheck disable=SC2086  # the workload's arguments are words
  "$bin" train -q --data "$dataset" --split loo --protocol sampled:uniform:99 \
    --metrics "hr@10 ndcg@10" --monitor NDCG@10 --epochs 1 --patience 0 --lr 0.001 \
    ${args[$1]} --engine "$2" -o "$dir" > "$dir.log" 2>&1 || { tail -3 "$dir.log"; return 1; }
}

for w in "${workloads[@]}"; do
  for rep in $(seq "$reps"); do
    for engine in torch native; do run "$w" "$engine" "$rep"; done
  done
done

python3 - "$out" "$reps" "${workloads[@]}" > "results/bench/train-speed-$dataset.json" <<'PY'
import json, os, statistics, sys
out, reps, workloads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = []
print(f'{"workload":<16} {"torch s/epoch":>13} {"native s/epoch":>14} {"speed-up":>8}  '
      f'{"HR@10 torch":>11} {"HR@10 native":>12}', file=sys.stderr)
for w in workloads:
    r = {e: [json.load(open(os.path.join(out, f"{w}-{e}-{k}", "results.json")))
             for k in range(1, reps + 1)] for e in ("torch", "native")}
    t = statistics.median(x["seconds_per_epoch"] for x in r["torch"])
    n = statistics.median(x["seconds_per_epoch"] for x in r["native"])
    ratios = [a["seconds_per_epoch"] / b["seconds_per_epoch"] for a, b in zip(r["torch"], r["native"])]
    ht, hn = (r[e][-1]["test"]["metrics"]["HR@10"] for e in ("torch", "native"))
    print(f'{w:<16} {t:13.2f} {n:14.2f} {t / n:7.2f}x  {ht:11.4f} {hn:12.4f}', file=sys.stderr)
    rows.append({"workload": w, "torch_seconds_per_epoch": t, "native_seconds_per_epoch": n,
                 "pairwise_ratios": ratios, "hr10_torch": ht, "hr10_native": hn,
                 "samples": r["native"][-1]["samples_per_second"] * n})
print(json.dumps(rows, indent=1))
PY
echo "(wrote results/bench/train-speed-$dataset.json)"
