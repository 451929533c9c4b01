#!/usr/bin/env bash
# Top-N distillation benchmark, the DE-RRD paper's setting (Kang et al., CIKM 2020): a BPR-MF
# teacher of dim 200, MF students of dim 20 (phi = 0.1), leave-one-out, trained and selected under
# sampled:uniform:499 (DE-RRD's protocol); the best student is then also evaluated under NCF's
# sampled:uniform:99 and under full ranking. One row per method, mean +- std over the seeds.
#   bash bench/distill.sh [BUILD_DIR] [DATASET] [SEEDS] [ROWS]
#   e.g. bash bench/distill.sh build ml-100k "1 2 3"
#        bash bench/distill.sh build ml-1m "1" "alone kd rrd derrd"
# ROWS (default: all): alone kd rd cd de rrd derrd htd hint rkd online self multi.
# The teacher is trained once per seed and reused; finished runs are skipped (delete the folder
# to redo one). Prints a table and writes results/bench/distill-DATASET.json.
# Environment: TEACHER (mf:dim=200), STUDENT (mf:dim=20), EPOCHS (40), PATIENCE (3), DERRD and RRD
# (the derrd and rrd rows' methods, default `derrd` and `rrd`).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-100k}"
seeds="${3:-1 2 3}"
rows="${4:-alone kd rd cd de rrd derrd htd hint rkd online self multi}"
bin="$build/recpress"
teacher="${TEACHER:-mf:dim=200}"
student="${STUDENT:-mf:dim=20}"
out="results/bench/distill-$dataset"
mkdir -p "$out"
common=(--data "$dataset" --split loo --protocol sampled:uniform:499 --metrics "hr@5,10 ndcg@5,10"
        --monitor NDCG@10 --loss bpr --optimizer lazyadam --lr 0.001 --batch-size 1024
        --epochs "${EPOCHS:-40}" --patience "${PATIENCE:-3}" -q)

# methods per row (distill rows); "alone" trains the student without a teacher.
declare -A method=(
  [kd]="kd" [rd]="rd:lambda=5" [cd]="cd" [de]="de" [rrd]="${RRD:-rrd}" [derrd]="${DERRD:-derrd}" [htd]="htd"
  [hint]="hint" [rkd]="rkd" [online]="kd" [self]="kd" [multi]="kd")

evaluate_more() {  # run folder: the best model under uniform:99 and full
  for p in sampled:uniform:99 full; do
    local f="$1/test-${p//:/-}.json"
    [ -s "$f" ] || "$bin" -q --seed "$2" evaluate --data "$dataset" --split loo --model "$1/best.pt" \
      --protocol "$p" --metrics "hr@5,10 ndcg@5,10" -o "$f" > /dev/null
  done
}

for seed in $seeds; do
  t="$out/teacher-s$seed"
  if [ ! -s "$t/results.json" ]; then
    echo "seed $seed: teacher $teacher" >&2
    "$bin" --seed "$seed" train "${common[@]}" --model "$teacher" -o "$t" > "$t.log" 2>&1
  fi
  evaluate_more "$t" "$seed"
  for row in $rows; do
    d="$out/$row-s$seed"
    [ -s "$d/results.json" ] && continue
    echo "seed $seed: $row" >&2
    case "$row" in
      alone) "$bin" --seed "$seed" train "${common[@]}" --model "$student" -o "$d" > "$d.log" 2>&1 ;;
      online) "$bin" --seed "$seed" distill "${common[@]}" --student "$student" --teacher "$t/best.pt" \
                --scheme online --method kd -o "$d" > "$d.log" 2>&1 ;;
      self) "$bin" --seed "$seed" distill "${common[@]}" --teacher "$t/best.pt" --scheme self \
              --generations 1 --method kd -o "$d" > "$d.log" 2>&1
            cp "$d/gen1/best.pt" "$d/best.pt"
            python3 - "$d" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/results.json")); g = r["generations"][-1]
h = json.load(open(f"{d}/gen1/history.json"))
json.dump({"model": r["model"], "test": g["test"], "best_epoch": g["best_epoch"],
           "epochs_run": len(h), "seconds_per_epoch": sum(x["train_seconds"] for x in h) / len(h),
           "parameters": None, "generations": r["generations"]}, open(f"{d}/results.json", "w"))
PY
            ;;
      multi)  # NeuMF-64 trained here + the MF-200 teacher, mean of their logits
        n="$out/neumf64-s$seed"
        [ -s "$n/results.json" ] || "$bin" --seed "$seed" train "${common[@]}" --loss bce --negatives 4 \
          --optimizer adam --batch-size 256 --model neumf:dim=64 -o "$n" > "$n.log" 2>&1
        "$bin" --seed "$seed" distill "${common[@]}" --student "$student" --teacher "$t/best.pt" \
          --teacher "$n/best.pt" --method kd -o "$d" > "$d.log" 2>&1 ;;
      *) "$bin" --seed "$seed" distill "${common[@]}" --student "$student" --teacher "$t/best.pt" \
           --method "${method[$row]}" -o "$d" > "$d.log" 2>&1 ;;
    esac
    evaluate_more "$d" "$seed"
  done
done

python3 bench/distill_summary.py "$out" "$dataset" "$seeds" "teacher $rows" \
  > "results/bench/distill-$dataset.json"
echo "(wrote results/bench/distill-$dataset.json)"
