#!/usr/bin/env bash
# CTR benchmark: LR, FM, Wide & Deep and DeepFM on MovieLens as CTR (label = rating >= 4; fields
# user, item, user gender/age/occupation, movie genres/year; three user x genre crosses for the
# linear parts), random 80/10/10 split by seed; Wide & Deep uses DeepFM's deep part (400-400-400,
# dropout 0.5). Then distillation into small students from the DeepFM teacher (kd, hint,
# kd+hint) and from the Wide&Deep + DeepFM ensemble (multi-teacher).
#
# Every row's learning rate is chosen on the validation AUC of the first seed among LRS, then the
# other seeds reuse it: baselines are tuned as carefully as the deep models. Mean +- std over seeds.
#   bash bench/ctr.sh [BUILD_DIR] [DATASET] [SEEDS] [PART]
#   e.g. bash bench/ctr.sh build ml-1m "1 2 3"; bash bench/ctr.sh build ml-100k "1 2 3" models
# PART: models | distill | all (default). Finished runs are skipped (delete a folder to redo it).
# Prints tables and writes results/bench/ctr-DATASET.json.
# Environment: EPOCHS (30), PATIENCE (2), LRS ("0.001 0.003 0.01"), DISTILL_ROWS (all),
#   STUDENT (deepfm:dim=6,hidden=64-32: about 1/9 of the DeepFM teacher's parameters).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-1m}"
seeds="${3:-1 2 3}"
part="${4:-all}"
bin="$build/recpress"
out="results/bench/ctr-$dataset"
mkdir -p "$out/tune"
crosses="user_gender*item_genre,user_age*item_genre,user_occupation*item_genre"
lrs="${LRS:-0.001 0.003 0.01}"
common=(--epochs "${EPOCHS:-30}" --patience "${PATIENCE:-2}" --batch-size 2048 -q)
student="${STUDENT:-deepfm:dim=6,hidden=64-32}"
first_seed="${seeds%% *}"

# row -> "student spec|methods|teacher rows"; an empty method list trains the model alone.
declare -A rows=(
  [lr]="lr||" [fm]="fm:dim=16||" [wide_deep]="wide_deep:dropout=0.5||" [deepfm]="deepfm||"
  [small-alone]="$student||"
  [small-kd]="$student|kd:alpha=0.9|deepfm"
  [small-hint]="$student|hint|deepfm"
  [small-kd+hint]="$student|kd:alpha=0.9+hint|deepfm"
  [small-multi]="$student|kd:alpha=0.9|wide_deep deepfm"
  [fm4-alone]="fm:dim=4||"
  [fm4-kd]="fm:dim=4|kd:alpha=0.9|deepfm"
  [fm4-multi]="fm:dim=4|kd:alpha=0.9|wide_deep deepfm"
  [lr-kd]="lr|kd:alpha=0.9|deepfm")

train_once() {  # row seed lr dir
  local d="$4"
  [ -s "$d/results.json" ] && return
  IFS='|' read -r spec methods teachers <<< "${rows[$1]}"
  echo "seed $2: $1 (lr $3)" >&2
  if [ -z "$methods" ]; then
    "$bin" --seed "$2" ctr train --data "$dataset" --crosses "$crosses" --model "$spec" --lr "$3" \
      "${common[@]}" -o "$d" > "$d.log" 2>&1 || { cat "$d.log" >&2; exit 1; }
  else
    local args=()
    for t in $teachers; do run_row "$t" "$2"; args+=(--teacher "$out/$t-s$2/best.pt"); done
    "$bin" --seed "$2" ctr distill "${args[@]}" --student "$spec" --method "$methods" --lr "$3" \
      "${common[@]}" -o "$d" > "$d.log" 2>&1 || { cat "$d.log" >&2; exit 1; }
  fi
}

chosen_lr() {  # row: tune on the first seed (validation AUC), remember the choice
  local f="$out/tune/$1.lr"
  if [ ! -s "$f" ]; then
    local best="" best_auc=-1
    for lr in $lrs; do
      local d="$out/tune/$1-lr$lr"
      train_once "$1" "$first_seed" "$lr" "$d"
      local auc
      auc=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['valid']['AUC'])" "$d/results.json")
      if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$auc" "$best_auc"; then
        best="$lr"; best_auc="$auc"
      fi
    done
    echo "$best" > "$f"
  fi
  cat "$f"
}

run_row() {  # row seed
  local d="$out/$1-s$2"
  [ -s "$d/results.json" ] && return
  local lr
  lr=$(chosen_lr "$1")
  if [ "$2" = "$first_seed" ]; then
    rm -rf "$d" && cp -r "$out/tune/$1-lr$lr" "$d"
  else
    train_once "$1" "$2" "$lr" "$d"
  fi
}

model_rows="lr fm wide_deep deepfm"
distill_rows="${DISTILL_ROWS:-small-alone small-kd small-hint small-kd+hint small-multi fm4-alone fm4-kd fm4-multi lr-kd}"
for seed in $seeds; do
  if [ "$part" != distill ]; then for r in $model_rows; do run_row "$r" "$seed"; done; fi
  if [ "$part" != models ]; then for r in $distill_rows; do run_row "$r" "$seed"; done; fi
done
for r in $model_rows $distill_rows; do [ -s "$out/tune/$r.lr" ] && echo "lr $r: $(cat "$out/tune/$r.lr")" >&2; done
python3 bench/ctr_summary.py "$out" "$dataset" "$seeds" "$model_rows" "$distill_rows" \
  > "results/bench/ctr-$dataset.json"
echo "wrote results/bench/ctr-$dataset.json" >&2
