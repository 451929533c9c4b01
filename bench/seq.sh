#!/usr/bin/env bash
# Next-item benchmark: SASRec (full-softmax CE) and BERT4Rec teachers, leave-one-out by time,
# selected on validation NDCG@10 under BERT4Rec's protocol (sampled:popularity:100); the best
# model is also evaluated under sampled:uniform:100 and full ranking. Then distillation of the
# SASRec teacher into a 1-layer, 1-head, hidden-16 SASRec: alone, kd, hint, attention,
# kd+attention. One row per model/method; the training curve is in each run's history.json.
#   bash bench/seq.sh [BUILD_DIR] [DATASET] [SEEDS] [ROWS]
#   e.g. bash bench/seq.sh build ml-100k 1
#        bash bench/seq.sh build ml-1m 1 "sasrec bert4rec"
# Environment: MAX_LEN (50), HIDDEN (128: the teacher), EPOCHS (200), PATIENCE (10).
# Finished runs are skipped. Prints a table and writes results/bench/seq-DATASET.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-100k}"
seeds="${3:-1}"
rows="${4:-sasrec bert4rec alone kd hint attention kd+attention}"
bin="$build/recpress"
out="results/bench/seq-$dataset"
mkdir -p "$out"
len="${MAX_LEN:-50}"
hidden="${HIDDEN:-128}"
common=(--data "$dataset" --protocol sampled:popularity:100 --metrics "hr@1,5,10 ndcg@5,10 mrr@1000"
        --epochs "${EPOCHS:-200}" --patience "${PATIENCE:-10}" --batch-size 32 --lr 0.002 -q)
teacher="sasrec:loss=ce,max_len=$len,hidden=$hidden,layers=2,heads=2,dropout=0.2"
student="sasrec:loss=ce,max_len=$len,hidden=16,layers=1,heads=1,dropout=0.2"
declare -A model=([sasrec]="$teacher" [bert4rec]="bert4rec:max_len=$len,hidden=$hidden,layers=2,heads=2,dropout=0.2,mask_prob=0.2"
                  [alone]="$student")
declare -A method=([kd]="kd" [hint]="hint" [attention]="attention" [kd+attention]="kd+attention")

more_protocols() {  # run seed
  for p in sampled:uniform:100 full; do
    local f="$1/test-${p//:/-}.txt"
    [ -s "$f" ] || "$bin" -q --seed "$2" seq evaluate --data "$dataset" "$1/best.pt" --protocol "$p" \
      --metrics "hr@1,5,10 ndcg@5,10 mrr@1000" > "$f"
  done
}

for seed in $seeds; do
  for row in $rows; do
    d="$out/$row-s$seed"
    if [ ! -s "$d/results.json" ]; then
      echo "seed $seed: $row" >&2
      if [ -n "${model[$row]:-}" ]; then
        "$bin" --seed "$seed" seq train "${common[@]}" --model "${model[$row]}" -o "$d" > "$d.log" 2>&1 \
          || { cat "$d.log" >&2; exit 1; }
      else
        [ -s "$out/sasrec-s$seed/best.pt" ] || { echo "train the sasrec teacher first" >&2; exit 1; }
        "$bin" --seed "$seed" seq distill "${common[@]}" --teacher "$out/sasrec-s$seed/best.pt" \
          --student "$student" --method "${method[$row]}" -o "$d" > "$d.log" 2>&1 \
          || { cat "$d.log" >&2; exit 1; }
      fi
    fi
    more_protocols "$d" "$seed"
  done
done
python3 bench/seq_summary.py "$out" "$dataset" "$seeds" "$rows" > "results/bench/seq-$dataset.json"
echo "wrote results/bench/seq-$dataset.json" >&2
