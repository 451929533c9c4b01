#!/usr/bin/env bash
# fp32 against bf16 (the `precision` option: LibTorch's CPU autocast), side by side and to
# convergence, so the table gives both what bf16 saves (seconds per epoch, training samples/s)
# and what it costs (test accuracy at the validation-selected epoch) (issue 19):
#   seq  the SASRec-128 teacher of recipes/seq-ml1m.yaml (full-softmax CE, 2 blocks, 2 heads,
#        max_len 50, dropout 0.2; Adam lr 0.002, 32 users per batch, patience 5)
#   ctr  DeepFM (dim 16, 400-400-400, dropout 0.5) on ml-1m as CTR with the recipe's crosses, at
#        the issue's batch 4096 (Adam lr 0.001, patience 2)
# Each workload runs fp32 then bf16 with the same seed. bf16 needs AVX512-BF16 or AMX (`recpress
# doctor`); elsewhere the option is refused and this script says so.
#   bash bench/precision.sh [BUILD_DIR] [DATASET] [WORKLOADS]     (default build ml-1m "seq ctr")
# Writes results/bench/precision-DATASET.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-1m}"
read -r -a workloads <<< "${3:-seq ctr}"
bin="$build/recpress"
out="results/bench/precision-$dataset"
mkdir -p "$out"
export OMP_NUM_THREADS=1
if ! "$bin" doctor 2>/dev/null | grep -qE "avx512_bf16|amx_bf16"; then
  echo "precision.sh: this CPU has neither AVX512-BF16 nor AMX; bf16 is refused here" >&2
  exit 0
fi

run() {  # workload precision
  local dir="$out/$1-$2"
  case "$1" in
    seq) "$bin" seq train -q --data "$dataset" \
           -m sasrec:loss=ce,max_len=50,hidden=128,layers=2,heads=2,dropout=0.2 --lr 0.002 \
           --batch-size 32 --epochs 200 --patience 5 --precision "$2" -o "$dir" ;;
    ctr) "$bin" ctr train -q --data "$dataset" -m deepfm --lr 0.001 --batch-size 4096 \
           --epochs 20 --patience 2 --precision "$2" \
           --crosses user_gender*item_genre,user_age*item_genre,user_occupation*item_genre \
           -o "$dir" ;;
  esac > "$dir.log" 2>&1 || { tail -3 "$dir.log"; return 1; }
}

for w in "${workloads[@]}"; do
  for p in fp32 bf16; do run "$w" "$p"; done
done

python3 - "$out" "${workloads[@]}" > "results/bench/precision-$dataset.json" <<'PY'
import json, os, sys
out, workloads = sys.argv[1], sys.argv[2:]
metric = {"seq": ("NDCG@10", lambda t: t["metrics"]["NDCG@10"]), "ctr": ("AUC", lambda t: t["AUC"])}
rows = []
print(f'{"workload":<9} {"fp32 s/epoch":>12} {"bf16 s/epoch":>12} {"speed-up":>8}  '
      f'{"fp32 samples/s":>14} {"bf16 samples/s":>14}  {"metric":<8} {"fp32":>7} {"bf16":>7}  '
      f'{"best/ran fp32":>13} {"bf16":>6}', file=sys.stderr)
for w in workloads:
    r = {p: json.load(open(os.path.join(out, f"{w}-{p}", "results.json"))) for p in ("fp32", "bf16")}
    name, get = metric[w]
    s = {p: r[p]["seconds_per_epoch"] for p in r}
    sps = {p: r[p]["samples_per_second"] for p in r}
    m = {p: get(r[p]["test"]) for p in r}
    ep = {p: f'{r[p]["best_epoch"]}/{r[p]["epochs_run"]}' for p in r}
    print(f'{w:<9} {s["fp32"]:12.2f} {s["bf16"]:12.2f} {s["fp32"] / s["bf16"]:7.2f}x  '
          f'{sps["fp32"]:14,.0f} {sps["bf16"]:14,.0f}  {name:<8} {m["fp32"]:7.4f} {m["bf16"]:7.4f}  '
          f'{ep["fp32"]:>13} {ep["bf16"]:>6}', file=sys.stderr)
    rows.append({"workload": w, "seconds_per_epoch": s, "samples_per_second": sps,
                 "test_" + name: m, "best_epoch/epochs_run": ep})
print(json.dumps(rows, indent=1))
PY
echo "(wrote results/bench/precision-$dataset.json)"
