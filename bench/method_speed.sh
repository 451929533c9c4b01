#!/usr/bin/env bash
# Per-epoch cost of every top-N distillation method against the student trained alone (issue 19:
# <= 3x), bench/distill.sh's setting: BPR-MF-200 teacher -> MF-20 student, BPR with 4 negatives,
# lazy Adam, batch 1024, one epoch per run, with `--engine torch` (LibTorch autograd) and
# `--engine auto` (the native step where the method reads the student only through its scores:
# kd, rd, cd, rrd; the others fall back to autograd and say so in results.json's "engine").
#   bash bench/method_speed.sh [BUILD_DIR] [DATASET] [METHODS]
#   e.g. bash bench/method_speed.sh build ml-1m "kd rd cd rrd derrd"
# The teacher is trained once (TEACHER_EPOCHS, default 10) into results/bench/method-speed-DATASET/.
# Prints a table and writes results/bench/method-speed-DATASET.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dataset="${2:-ml-1m}"
methods="${3:-kd rd cd de rrd derrd htd hint rkd online}"
bin="$build/recpress"
out="results/bench/method-speed-$dataset"
mkdir -p "$out"
export OMP_NUM_THREADS=1
common=(--data "$dataset" --split loo --protocol sampled:uniform:499 --metrics "hr@10 ndcg@10"
        --monitor NDCG@10 --loss bpr --optimizer lazyadam --lr 0.001 --batch-size 1024 -q)
declare -A method=([kd]="kd" [rd]="rd:lambda=5" [cd]="cd" [de]="de" [rrd]="rrd" [derrd]="derrd"
                   [htd]="htd" [hint]="hint" [rkd]="rkd" [online]="kd")

teacher="$out/teacher"
[ -s "$teacher/best.pt" ] || "$bin" train "${common[@]}" --model mf:dim=200 \
  --epochs "${TEACHER_EPOCHS:-10}" --patience 0 -o "$teacher" > "$teacher.log" 2>&1

run() {  # name engine args...
  local dir="$out/$1-$2"; shift 2
  "$bin" "$@" -o "$dir" > "$dir.log" 2>&1 || { echo "failed: $dir"; tail -3 "$dir.log"; return 1; }
}
for engine in torch auto; do
  run alone "$engine" train "${common[@]}" --model mf:dim=20 --epochs 1 --patience 0 --engine "$engine"
  for m in $methods; do
    scheme=(); [ "$m" = online ] && scheme=(--scheme online)
    run "$m" "$engine" distill "${common[@]}" --student mf:dim=20 --teacher "$teacher/best.pt" \
      --method "${method[$m]}" "${scheme[@]}" --epochs 1 --patience 0 --engine "$engine"
  done
done

python3 - "$out" alone $methods > "results/bench/method-speed-$dataset.json" <<'PY'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
r = {(n, e): json.load(open(os.path.join(out, f"{n}-{e}", "results.json")))
     for n in names for e in ("torch", "auto")}
alone = {e: r[("alone", e)]["seconds_per_epoch"] for e in ("torch", "auto")}
print(f'{"method":<8} {"torch s":>8} {"x alone":>8} {"auto s":>8} {"x alone":>8} {"engine":>7} '
      f'{"speed-up":>8}', file=sys.stderr)
rows = []
for n in names:
    t, a = r[(n, "torch")]["seconds_per_epoch"], r[(n, "auto")]["seconds_per_epoch"]
    eng = r[(n, "auto")].get("engine", "?")
    print(f'{n:<8} {t:8.2f} {t / alone["torch"]:7.1f}x {a:8.2f} {a / alone["auto"]:7.1f}x {eng:>7} '
          f'{t / a:7.2f}x', file=sys.stderr)
    rows.append({"method": n, "torch_seconds_per_epoch": t, "auto_seconds_per_epoch": a,
                 "auto_engine": eng, "torch_vs_alone": t / alone["torch"],
                 "auto_vs_alone": a / alone["auto"]})
print(json.dumps(rows, indent=1))
PY
echo "(wrote results/bench/method-speed-$dataset.json)"
