#!/usr/bin/env bash
# NCF benchmark (He et al., WWW 2017, Table 2 style): GMF, MLP and NeuMF (with and without
# pre-training) at several factors, NCF's protocol (leave-latest-one-out, 99 uniform negatives,
# HR@10 / NDCG@10), pointwise BCE with 4 negatives, Adam lr 0.001, batch 256.
#   bash bench/ncf.sh [BUILD_DIR] [DATASET] [FACTORS] [EPOCHS]
#   e.g. bash bench/ncf.sh build ml-1m "8 16 32 64" 20
# MLP_MULT=4 sizes the MLP as the paper counts "predictive factors" f: the MLP's last layer is f,
# so its embeddings are 4f (tower 8f-4f-2f-f); NeuMF-f is then neumf:dim=f,mlp_dim=4f. Default 1:
# `dim` is the MLP's embedding size (tower 2f-f-f/2-f/4).
# SEED=S (default 42) sets the run's seed (split candidates, sampling, initialisation); a non-default
# seed adds -sS to the output names, so several seeds can be compared.
# Prints a table and writes results/bench/ncf-DATASET.json. Needs ../shared/data (or RECPRESS_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-100k}"
factors="${3:-8 16 32 64}"
epochs="${4:-20}"
bin="$build/recpress"
mult="${MLP_MULT:-1}"
seed="${SEED:-42}"
suffix=""; [ "$mult" != 1 ] && suffix="-mlpx$mult"
[ "$seed" != 42 ] && suffix="$suffix-s$seed"
out="results/bench/ncf-$dataset$suffix"
mkdir -p "$out"
common=(--data "$dataset" --split loo --protocol sampled:uniform:99 --metrics "hr@10 ndcg@10"
        --monitor NDCG@10 --loss bce --negatives 4 --batch-size 256 --epochs "$epochs" --patience 4 -q
        --seed "$seed")
peak_rss() { sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$1"; }
run() {  # name, folder, args...
  local name="$1" dir="$2"; shift 2
  /usr/bin/time -v "$bin" train "${common[@]}" -o "$dir" "$@" > "$dir.log" 2> "$dir.time" || { echo "$name failed:"; tail -3 "$dir.time"; return 1; }
  python3 - "$name" "$dir/results.json" "$(peak_rss "$dir.time")" <<'PY'
import json, sys
name, path, rss = sys.argv[1], sys.argv[2], int(sys.argv[3] or 0)
r = json.load(open(path))
m = r["test"]["metrics"]
print(f'{name:<22} {m["HR@10"]:.4f}  {m["NDCG@10"]:.4f}  {r["best_epoch"]:>4}  {r["epochs_run"]:>4}  '
      f'{r["seconds_per_epoch"]:7.1f}  {r["samples_per_second"]:>10,.0f}  {rss/1024:7.0f}  {r["parameters"]:>10,}')
PY
}
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }
printf '%-22s %-6s  %-7s  %4s  %4s  %7s  %10s  %7s  %10s\n' model HR@10 NDCG@10 best ran "s/epoch" "samples/s" "RSS MiB" params
for f in $factors; do
  run "GMF-$f" "$out/gmf-$f" --model "gmf:dim=$f" --optimizer adam --lr 0.001
  m=$((f * mult))
  run "MLP-$f" "$out/mlp-$f" --model "mlp:dim=$m,layers=3" --optimizer adam --lr 0.001
  run "NeuMF-$f" "$out/neumf-$f" --model "neumf:dim=$f,layers=3,mlp_dim=$m" --optimizer adam --lr 0.001
  # NCF Sec. 3.4.1: initialise from the trained GMF and MLP, then plain SGD.
  run "NeuMF-$f pre-trained" "$out/neumf-pre-$f" --model "neumf:dim=$f,layers=3,mlp_dim=$m" \
    --pretrain "$out/gmf-$f/best.pt,$out/mlp-$f/best.pt" --optimizer sgd --lr 0.001
done
python3 - "$out" > "results/bench/ncf-$dataset$suffix.json" <<'PY'
import json, os, sys
rows = {}
for d in sorted(os.listdir(sys.argv[1])):
    p = os.path.join(sys.argv[1], d, "results.json")
    if os.path.exists(p): rows[d] = json.load(open(p))
print(json.dumps(rows, indent=1))
PY
echo "(wrote results/bench/ncf-$dataset$suffix.json)"
