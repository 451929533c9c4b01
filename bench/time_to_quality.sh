#!/usr/bin/env bash
# Time to quality (issue 19): how long a NeuMF takes, as a user would run it, to a
# validation-selected test HR@10 >= 0.675 on ml-1m users 1-2999 under NCF's protocol
# (leave-latest-one-out, 99 uniform negatives). Wall time of the whole process: data loading,
# every epoch's training and validation, the test evaluation. Each setting is one command below;
# EPOCHS caps the run (the best epoch on validation is the one tested).
#   bash bench/time_to_quality.sh [BUILD_DIR] [DATASET]
# Prints a table and writes results/bench/time-to-quality-DATASET.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-1m}"
bin="$build/recpress"
out="results/bench/time-to-quality-$dataset"
mkdir -p "$out"
export OMP_NUM_THREADS=1
common=(--data "$dataset" --split loo --protocol sampled:uniform:99 --metrics "hr@10 ndcg@10"
        --monitor NDCG@10 --loss bce --negatives 4 -q)
declare -A setting=(
  [neumf32-b256-lazyadam]="--model neumf:dim=32 --batch-size 256 --optimizer lazyadam --lr 0.001 --epochs 8 --patience 0"
  [neumf32-b256-adam]="--model neumf:dim=32 --batch-size 256 --optimizer adam --lr 0.001 --epochs 8 --patience 0"
  [neumf32x4-b256-lazyadam]="--model neumf:dim=32,mlp_dim=128 --batch-size 256 --optimizer lazyadam --lr 0.001 --epochs 5 --patience 0")
names=(neumf32-b256-lazyadam neumf32-b256-adam neumf32x4-b256-lazyadam)
for n in "${names[@]}"; do
  start=$(date +%s.%N)
  # shellcheck disable=SC2086  # the setting's arguments are words
  "$bin" train "${common[@]}" ${setting[$n]} -o "$out/$n" > "$out/$n.log" 2>&1
  end=$(date +%s.%N)
  python3 -c "import json,sys; r=json.load(open('$out/$n/results.json')); r['wall_seconds']=$end-$start; json.dump(r, open('$out/$n/results.json','w'))"
done
python3 - "$out" "${names[@]}" > "results/bench/time-to-quality-$dataset.json" <<'PY'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
print(f'{"setting":<26} {"HR@10":>6} {"NDCG@10":>7} {"best":>4} {"ran":>4} {"s/epoch":>7} {"wall s":>7}',
      file=sys.stderr)
rows = []
for n in names:
    r = json.load(open(os.path.join(out, n, "results.json")))
    m = r["test"]["metrics"]
    print(f'{n:<26} {m["HR@10"]:.4f} {m["NDCG@10"]:.4f} {r["best_epoch"]:>4} {r["epochs_run"]:>4} '
          f'{r["seconds_per_epoch"]:7.2f} {r["wall_seconds"]:7.1f}', file=sys.stderr)
    rows.append({"setting": n, "test": m, "best_epoch": r["best_epoch"],
                 "epochs_run": r["epochs_run"], "seconds_per_epoch": r["seconds_per_epoch"],
                 "wall_seconds": r["wall_seconds"], "engine": r.get("engine")})
print(json.dumps(rows, indent=1))
PY
echo "(wrote results/bench/time-to-quality-$dataset.json)"
