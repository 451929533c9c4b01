#!/usr/bin/env bash
# CLI tests: run `recpress` as a user would and check exit codes and the one-line errors.
# Needs $RECPRESS (the binary). Prints "N passed, N failed" at the end.
set -u
bin="${RECPRESS:?set RECPRESS to the recpress binary}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export RECPRESS_CACHE_DIR="$work/cache"
passed=0
failed=0

# expect CODE FRAGMENT -- ARGS...: exit code must be CODE and stdout+stderr must contain FRAGMENT.
expect() {
  local code="$1" fragment="$2"  # CODE "nz": any non-zero exit
  shift 3
  local out rc
  out="$("$bin" "$@" 2>&1)"
  rc=$?
  if { [ "$rc" = "$code" ] || { [ "$code" = nz ] && [ "$rc" -ne 0 ]; }; } && [[ "$out" == *"$fragment"* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: recpress $* -> exit $rc (want $code), output lacks '$fragment':"
    echo "$out" | head -5 | sed 's/^/    /'
  fi
}

# --- happy paths
expect 0 "synthetic: " -- data stats "synthetic:users=300,items=200"
expect 0 "HR@10" -- evaluate --data "synthetic:users=300,items=200" --protocol sampled:uniform:99 \
  --candidates "$work/cand.tsv" -o "$work/r1.json"
expect 0 "HR@10" -- evaluate --data "synthetic:users=300,items=200" --protocol sampled:uniform:99 \
  --candidates "$work/cand.tsv" -o "$work/r2.json"
if cmp -s <(grep -v seconds "$work/r1.json") <(grep -v seconds "$work/r2.json"); then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL: reusing saved candidates changed the result"
fi
expect 0 "full" -- evaluate --data "synthetic:users=300,items=200" --protocol full --split temporal:0.8,0.1
expect 0 "report.html" -- demo -o "$work/demo"
[ -s "$work/demo/demo/results.json" ] && [ -s "$work/demo/demo/report.html" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: demo wrote no results.json / report.html"; }
for part in "## Top-N:" "## CTR:" "## Next item:"; do  # one report over the three tasks
  grep -q "$part" "$work/demo/demo/report.md" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: the demo report has no '$part' section"; }
done
expect 0 "cached" -- demo -o "$work/demo"   # a second run reuses every finished run
printf 'name: bad\ndata: synthetic\nteacher: {model: mf}\nstudent: {model: mf, lr: fast}\n' > "$work/bad.yaml"
expect 2 "bad.yaml:4: field 'student.lr': expected a number, got 'fast'" -- run "$work/bad.yaml"
expect 0 "| \`teacher\` |" -- run --reference
printf 'task: ctr\nname: bad\ndata: synthetic\nteacher: {model: deepfm}\nstudent: {model: lr}\nprotocol: full\n' > "$work/badctr.yaml"
expect 2 "badctr.yaml:6: field 'protocol': not used by CTR" -- run "$work/badctr.yaml"
expect 2 "unknown dataset 'ml-5m'" -- data download ml-5m
expect 0 "GEMM fp32" -- doctor

# --- bad input: one line naming file, line and field; non-zero exit
printf '1\t2\t5\t100\n1\t3\tfive\t101\n' > "$work/bad.rating"
expect 2 "bad.rating:2: field 'rating'" -- data stats "$work/bad.rating"
expect 0 "skipped 1 malformed" -- data stats "$work/bad.rating" --lenient
printf '1\t2\t5\n' > "$work/short.rating"
expect 2 "short.rating:1: expected 4 columns" -- data stats "$work/short.rating"
: > "$work/empty.rating"
expect 2 "no interactions" -- data stats "$work/empty.rating"
expect 2 "no such file" -- data stats "$work/missing.csv"
printf 'x' > "$work/data.parquet"
expect 2 "--format" -- data stats "$work/data.parquet"
expect 2 "unknown format 'parquet'" -- data stats "$work/bad.rating" --format parquet
expect 2 "unknown protocol" -- evaluate --data synthetic:users=50,items=60 --protocol loo
expect 2 "unknown metric" -- evaluate --data synthetic:users=50,items=60 --metrics auc@10
expect 2 "unknown split" -- evaluate --data synthetic:users=50,items=60 --split kfold
expect 2 "unknown key 'colour'" -- data stats synthetic:colour=3
expect 2 "--model must be" -- evaluate --data synthetic:users=50,items=60 --model neumf
printf '1\t2\t5\t100\n1\t3\t5\t101\n2\t2\t5\t100\n' > "$work/few.rating"
expect 2 "user '1' has 2 interaction(s); leave-one-out with validation needs at least 3" -- evaluate --data "$work/few.rating"
printf '(1,3)\t2\n' > "$work/x.negative"
expect 2 "x.negative:1: field 'negative 1'" -- evaluate --data "$work/few.rating" --split loo+novalid \
  --min-user-interactions 2 --protocol "file:$work/x.negative"
expect nz "data is required" -- data stats
expect nz "subcommand is required" -- frobnicate

# --- training, checkpoints, evaluation of a checkpoint, recipes
small="synthetic:users=200,items=300,mean=15,min=6"
expect 0 "wrote $work/gmf/" -- train --data "$small" --model gmf:dim=8 --epochs 2 -o "$work/gmf" -q
expect 0 "HR@10" -- evaluate --data "$small" --model "$work/gmf/best.pt" --protocol full
# Without --data, a checkpoint is evaluated on the data it was trained on.
expect 0 "HR@10" -- evaluate --model "$work/gmf/best.pt" --protocol full
expect 2 "not on this data" -- evaluate --data "synthetic:users=200,items=300,mean=15,min=6,seed=3" \
  --model "$work/gmf/best.pt"
head -c 300 "$work/gmf/best.pt" > "$work/trunc.pt"
expect 2 "trunc.pt: not a usable checkpoint" -- evaluate --data "$small" --model "$work/trunc.pt"
expect 0 "test (" -- train --data "$small" --resume "$work/gmf/last.pt" --epochs 3 --patience 0 -o "$work/gmf" -q
if [ "$(grep -c '"epoch"' "$work/gmf/history.json")" = 3 ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL: resumed run's history.json does not have 3 epochs"
fi
expect 2 "unknown model 'transformer'" -- train --data "$small" --model transformer
expect 2 "dim must be >= 1" -- train --data "$small" --model mf:dim=0
expect 2 "unknown optimizer" -- train --data "$small" --model mf --optimizer lion
printf 'model: mlp:dim=8\nepochs: 1\nbogus: 3\n' > "$work/bad.yaml"
expect 2 "bad.yaml:3: field 'bogus': unknown option" -- train --data "$small" --options "$work/bad.yaml"
printf 'model: mlp:dim=8\nepochs: 1\noutput: %s\n' "$work/mlp" > "$work/ok.yaml"
expect 0 "mlp:dim=8" -- train --data "$small" --options "$work/ok.yaml" -q
expect 2 "not a GMF model" -- train --data "$small" --model neumf:dim=8 --pretrain "$work/mlp/best.pt,$work/mlp/best.pt"
expect 0 "teacher gmf:dim=8" -- distill --data "$small" --teacher "$work/gmf/best.pt" --student mf:dim=2 \
  --method kd:temperature=2@0.5 --epochs 1 -o "$work/kd" -q
expect 2 "unknown distillation method 'telepathy'" -- distill --data "$small" --teacher "$work/gmf/best.pt" \
  --method telepathy --epochs 1 -o "$work/kd2" -q
expect 2 "not on this data" -- distill --data "synthetic:users=200,items=300,mean=15,min=6,seed=3" \
  --teacher "$work/gmf/best.pt" --method kd --epochs 1 -o "$work/kd3" -q
expect nz "--teacher is required" -- distill --data "$small" --method kd
# Every method runs end to end from the CLI, combined with weights.
expect 0 "teacher on the same test" -- distill --data "$small" --teacher "$work/gmf/best.pt" \
  --student mf:dim=2 --method derrd --method hint@0.5 --method rkd@0.1 --epochs 1 -o "$work/mix" -q
expect 0 "mf:dim=2" -- distill --data "$small" --teacher "$work/gmf/best.pt" --student mf:dim=2 \
  --method rd --method cd --method htd --epochs 1 -o "$work/mix2" -q
# Multi-teacher, online, self (born-again).
expect 0 "ensemble" -- distill --data "$small" --teacher "$work/gmf/best.pt" \
  --teacher "$work/mlp/best.pt" --method kd --epochs 1 -o "$work/multi" -q
expect 2 "give a weight (@w) to every teacher or to none" -- distill --data "$small" \
  --teacher "$work/gmf/best.pt@0.7" --teacher "$work/mlp/best.pt" --method kd --epochs 1 -q
expect 0 "online distillation" -- distill --data "$small" --teacher "$work/gmf/best.pt" \
  --student mf:dim=2 --scheme online --method kd --epochs 1 -o "$work/online"
expect 0 "online distillation" -- distill --data "$small" --teacher new:neumf:dim=8 \
  --student mf:dim=2 --scheme online --method kd --epochs 1 -o "$work/dml"
expect 2 "only makes sense with --scheme online" -- distill --data "$small" --teacher new:mf:dim=8 \
  --method kd --epochs 1 -q
expect 2 "cannot be used for online distillation" -- distill --data "$small" \
  --teacher "$work/gmf/best.pt" --scheme online --method rrd --epochs 1 -q
expect 0 "generation 2" -- distill --data "$small" --teacher "$work/gmf/best.pt" --scheme self \
  --generations 2 --method kd --epochs 1 -o "$work/self" -q
[ -s "$work/self/gen2/best.pt" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: no gen2/best.pt"; }
expect 2 "--scheme must be offline, online or self" -- distill --data "$small" \
  --teacher "$work/gmf/best.pt" --scheme sideways --method kd --epochs 1 -q
expect 2 "hint: the teacher's 'user' has 8 dimensions" -- distill --data "$small" \
  --teacher "$work/gmf/best.pt" --student mf:dim=2 --method hint:projection=0 --epochs 1 -q
# The same through a recipe, with lists of teachers and methods.
printf 'teacher: [%s]\nstudent: mf:dim=2\nmethod:\n  - rrd\n  - de@0.1\nepochs: 1\noutput: %s\n' \
  "$work/gmf/best.pt" "$work/recipe-kd" > "$work/distill.yaml"
expect 0 "mf:dim=2" -- distill --data "$small" --options "$work/distill.yaml" -q
printf 'teacher: x\nstudent: [mf, gmf]\n' > "$work/bad-distill.yaml"
expect 2 "bad-distill.yaml:2: field 'student': expected a single value" -- distill --data "$small" \
  --options "$work/bad-distill.yaml"

# Ship the student: export to .rpm and query it through the runtime.
expect 0 "int8, 200 users" -- export "$work/kd/best.pt" --dtype int8 --data "$small" -o "$work/s.rpm"
expect 0 "user u1" -- recommend "$work/s.rpm" --user u1 -k 3 --exclude-seen
expect 0 "fp16" -- export "$work/kd/best.pt" --dtype fp16 -o "$work/s16.rpm"
expect 2 "has no seen-items table" -- recommend "$work/s16.rpm" --user u1 --exclude-seen
expect 2 "unknown user 'nobody'" -- recommend "$work/s.rpm" --user nobody
expect 2 "-k must be in [1, 300]" -- recommend "$work/s.rpm" --user u1 -k 0
expect 2 "--dtype: unknown dtype 'int4'" -- export "$work/kd/best.pt" --dtype int4 -o "$work/x.rpm"
expect 0 "user u1" -- recommend "$work/s.rpm" --user u1 -k 3 --exclude-seen --index hnsw:ef=32
expect 2 "--index: unknown index parameter 'depth'" -- recommend "$work/s.rpm" --user u1 --index hnsw:depth=2
expect 0 "+ MLP tower" -- export "$work/mlp/best.pt" --dtype int8 -o "$work/mlp.rpm"
expect 0 "user u1" -- recommend "$work/mlp.rpm" --user u1 -k 3
expect 2 "has an MLP tower" -- recommend "$work/mlp.rpm" --user u1 --index hnsw
expect 2 "cannot open" -- export "$work/nothing/best.pt" -o "$work/x.rpm"
head -c 1000 "$work/s.rpm" > "$work/cut.rpm"
expect 2 "cut.rpm: truncated or extended" -- recommend "$work/cut.rpm" --user u1
cp "$work/s.rpm" "$work/flip.rpm"
printf '\x55' | dd of="$work/flip.rpm" bs=1 seek=2000 conv=notrunc status=none
expect 2 "flip.rpm: checksum mismatch" -- recommend "$work/flip.rpm" --user u1
expect 0 "the student keeps" -- compare --data "$small" --teacher "$work/gmf/best.pt" \
  --student "$work/s.rpm" --users 50 -o "$work/compare.json"
grep -q '"speedup_p50"' "$work/compare.json" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: compare.json"; }
expect 2 "id maps would not match" -- compare --data "synthetic:users=200,items=300,mean=15,min=6,seed=3" \
  --teacher "$work/gmf/best.pt" --student "$work/s.rpm"
if [ -n "${RECPRESS_EXAMPLE:-}" ]; then  # the find_package example program, LibTorch-free
  if [ "$("$RECPRESS_EXAMPLE" "$work/s.rpm" u1 3 | wc -l)" = 3 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL: examples/recommend.cc did not print 3 items"
  fi
fi
[ ! -e "$work/x.rpm" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: a refused export left a file"; }

# --- CTR: train, distill (one teacher, an ensemble), evaluate; bad input
ctr="synthetic:users=300,items=200"
expect 0 "test  AUC" -- ctr train --data "$ctr" --model "deepfm:dim=4,hidden=16" --epochs 2 -o "$work/ctr-t"
expect 0 "test  AUC" -- ctr train --data "$ctr" --model wide_deep:dim=4,hidden=8 --crosses "user_segment*item_category" \
  --epochs 2 -o "$work/ctr-wd"
expect 0 "test  AUC" -- ctr train --data "$ctr" --model wide_deep:dim=4,hidden=8 --epochs 2 -o "$work/ctr-wd2"
expect 0 "test  AUC" -- ctr distill --teacher "$work/ctr-t/best.pt" --student fm:dim=2 --method kd+hint --epochs 2 -o "$work/ctr-s"
expect 0 "valid AUC" -- ctr evaluate "$work/ctr-s/best.pt"
expect 0 '"LogLoss"' -- ctr evaluate "$work/ctr-s/best.pt" --json
expect 0 "test  AUC" -- ctr distill --teacher "$work/ctr-t/best.pt" --teacher "$work/ctr-wd2/best.pt" \
  --student lr --method kd --epochs 1 -o "$work/ctr-m"
expect 2 "trained on other data or features" -- ctr distill --teacher "$work/ctr-t/best.pt" \
  --teacher "$work/ctr-wd/best.pt" --student lr --method kd -o "$work/ctr-x"
expect 2 "ensemble of teachers has none" -- ctr distill --teacher "$work/ctr-t/best.pt" \
  --teacher "$work/ctr-wd2/best.pt" --student fm:dim=2 --method hint -o "$work/ctr-x"
expect 2 "unknown CTR model 'xgboost'" -- ctr train --data "$ctr" --model xgboost
expect 2 "unknown CTR distillation method 'derrd'" -- ctr distill --teacher "$work/ctr-t/best.pt" --student lr --method derrd
expect 2 "not a CTR model checkpoint" -- ctr evaluate "$work/gmf/best.pt"
# Ship a CTR student: export (the fitted feature encoder inside), score rows of raw field values.
expect 0 "CTR deepfm:dim=4,hidden=16, int8" -- export "$work/ctr-t/best.pt" --dtype int8 -o "$work/ctr.rpm"
expect 2 "carries its feature encoder" -- export "$work/ctr-t/best.pt" --data "$ctr" -o "$work/ctr-x.rpm"
printf '{"user": "u1", "item": "i2"}\n{"user": "nobody", "item_category": null}\n' > "$work/rows.jsonl"
expect 0 "2 rows scored" -- predict "$work/ctr.rpm" --rows "$work/rows.jsonl"
expect 0 "oov:user" -- predict "$work/ctr.rpm" --rows "$work/rows.jsonl" --show-oov
printf 'user,item\nu1,i2\nu3\n' > "$work/rows.csv"
expect 2 "rows.csv:3: 1 cells, the header has 2" -- predict "$work/ctr.rpm" --rows "$work/rows.csv"
printf '{"user": "u1"}\n{"user": ["u1", "u2"]}\n' > "$work/bad-rows.jsonl"
expect 2 "bad-rows.jsonl:2: field 'user': expected one token" -- predict "$work/ctr.rpm" --rows "$work/bad-rows.jsonl"
expect 2 "--row 1: unknown field 'colour' (the model reads user (categorical)" -- predict "$work/ctr.rpm" --row '{"colour": "red"}'
expect 2 "--row 1: malformed JSON" -- predict "$work/ctr.rpm" --row '{"user": '
expect 2 "a CTR model: it predicts click probabilities" -- recommend "$work/ctr.rpm" --user u1
expect 2 "a top-N model: it recommends items" -- predict "$work/s.rpm" --row '{}'
expect 2 "no field 'user_colour'" -- ctr train --data "$ctr" --crosses "user_colour*item_category"
printf 'label,I1\n1,2\n' > "$work/criteo.csv"
expect 2 "criteo.csv:2: expected 40 columns" -- ctr train --data "$work/criteo.csv" --format criteo
printf 'clicked,price\n1,3\n0,x\n' > "$work/c.csv"
expect 2 "c.csv:3: field 'price': expected a number" -- ctr train --data "$work/c.csv" --schema "clicked=label,price=num"
expect 2 "column 'price' is not in the schema" -- ctr train --data "$work/c.csv" --schema "clicked=label"
if [ -d "${RECPRESS_SOURCE_DIR:-.}/../shared/data/ctr-samples" ]; then
  samples="${RECPRESS_SOURCE_DIR:-.}/../shared/data/ctr-samples"
  expect 0 "test  AUC" -- ctr train --data "$samples/criteo_sample.txt" --model deepfm:dim=4,hidden=8 --numeric criteo \
    --min-count 1 --epochs 2 -o ""
  expect 0 "test  AUC" -- ctr train --data "$samples/avazu_sample.txt" --model fm:dim=4 --min-count 1 --epochs 2 -o ""
  # DeepCTR's MovieLens sample is recognised by its header (it was read as a sequence file).
  expect 0 "test  AUC" -- ctr train --data "$samples/movielens_sample.txt" --model fm:dim=4 --min-count 1 --epochs 2 -o ""
fi

# --- one training loop: resume, changed options, divergence, outputs never overwrite inputs
expect 0 "test  AUC" -- ctr train --data "$ctr" --model fm:dim=4 --epochs 2 -o "$work/ctr-r"
[ -s "$work/ctr-r/last.pt" ] && [ -s "$work/ctr-r/results.json" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: ctr train wrote no last.pt / results.json"; }
expect 0 "best epoch" -- ctr train --resume "$work/ctr-r/last.pt" --epochs 3 -o "$work/ctr-r"
expect 2 "lr 0.001 -> 0.5" -- ctr train --resume "$work/ctr-r/last.pt" --epochs 4 --lr 0.5 -o "$work/ctr-r"
expect 2 "the checkpoint is a fm:dim=4" -- ctr train --resume "$work/ctr-r/last.pt" --model lr -o "$work/ctr-r"
expect 2 "training diverged" -- ctr train --data "$ctr" --model fm:dim=4 --lr 1e9 --epochs 2 -o "$work/ctr-wild"
expect 2 "--data is required" -- ctr train --model lr -o ""
expect 2 "all negative" -- ctr train --data "$ctr" --model lr --threshold 9 -o ""
expect 2 "holds the input" -- ctr distill --teacher "$work/ctr-t/best.pt" --student lr --method kd -o "$work/ctr-t"
expect 2 "cannot write output folder '/proc/recpress/x'" -- ctr train --data "$ctr" --model lr -o /proc/recpress/x
expect 2 "GAMMA must be in (0, 1]" -- train --data "$small" --model mf --schedule step:1,-1 -o ""
expect 2 "training diverged" -- train --data "$small" --model mf:dim=8 --lr 1e9 --epochs 2 -o "$work/mf-wild"
expect 2 "lr 0.001 -> 0.1" -- train --data "$small" --resume "$work/gmf/last.pt" --lr 0.1 -o "$work/gmf"
expect 0 "recpress 0.1.0 (commit" -- --version
# Without -o, a distillation writes beside its teacher's folder, never into it.
mkdir -p "$work/cwd"
(
  cd "$work/cwd" || exit 1
  "$bin" ctr train --data "$ctr" --model lr --epochs 1 >/dev/null 2>&1 &&
    cp runs/ctr/best.pt teacher-copy.pt &&
    "$bin" ctr distill --teacher runs/ctr/best.pt --student lr --method kd --epochs 1 >/dev/null 2>&1 &&
    cmp -s runs/ctr/best.pt teacher-copy.pt && [ -s runs/ctr-distill/best.pt ]
) && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: ctr distill without -o touched its teacher"; }

# --- the HTTP server's flags are checked before it starts
for bad in "--port 70000" "--workers 0" "--max-k 0" "--reload-token-file $work/no-token"; do
  flag="${bad%% *}"
  # shellcheck disable=SC2086
  expect 2 "$flag" -- serve "$work/s.rpm" $bad
done
if [ -n "${RECPRESS_SERVE:-}" ] && [ -x "${RECPRESS_SERVE}" ]; then
  out="$("$RECPRESS_SERVE" "$work/s.rpm" --probe 0 2>&1)"; rc=$?
  [ "$rc" = 2 ] && [[ "$out" == *"--probe"* ]] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: recpress-serve --probe 0 -> $rc: $out"; }
fi

# --- next-item: train, distill, evaluate; bad input
seq="synthetic:users=200,items=300"
expect 0 "valid (best epoch)" -- seq train --data "$seq" --model sasrec:loss=ce,max_len=10,hidden=16 --epochs 2 -o "$work/seq-t"
expect 0 "NDCG@10" -- seq evaluate --data "$seq" "$work/seq-t/best.pt" --protocol full
expect 0 "NDCG@10" -- seq evaluate "$work/seq-t/best.pt" --protocol full
# Ship a next-item student: export (item ids inside), top-K after a history of raw ids.
expect 0 "next item sasrec" -- export "$work/seq-t/best.pt" --dtype int8 -o "$work/seq.rpm"
expect 2 "carries its item ids" -- export "$work/seq-t/best.pt" --data "$seq" -o "$work/seq-x.rpm"
expect 0 "after 2 item(s)" -- next "$work/seq.rpm" --history i1,i2,unknown-item -k 3 --exclude-history
expect 0 "skipped 1 item(s) the model does not know: unknown-item" -- next "$work/seq.rpm" --history i1,unknown-item
expect 2 "--history: none of the 1 items is in" -- next "$work/seq.rpm" --history nope
expect 2 "-k must be in [1, 300]" -- next "$work/seq.rpm" --history i1 -k 0
expect 2 "a next-item model: it predicts the items after a history" -- recommend "$work/seq.rpm" --user u1
expect 2 "a CTR model, not a next-item one" -- next "$work/ctr.rpm" --history i1
expect 0 "the student keeps" -- compare --data "$seq" --teacher "$work/seq-t/best.pt" --student "$work/seq.rpm" \
  --users 20 -o "$work/compare-seq.json"
grep -q '"metric": "NDCG@10"' "$work/compare-seq.json" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: compare-seq.json"; }
expect 0 "of the teacher's AUC" -- compare --teacher "$work/ctr-t/best.pt" --student "$work/ctr.rpm" --users 20
expect 2 "exported with other features" -- compare --teacher "$work/ctr-wd/best.pt" --student "$work/ctr.rpm"
expect 0 "valid (best epoch)" -- seq distill --data "$seq" --teacher "$work/seq-t/best.pt" \
  --student sasrec:loss=ce,max_len=10,hidden=8,layers=1,heads=1 --method kd+attention --epochs 1 -o "$work/seq-s"
# AdaRec: the search prints its derived architecture; the search space does not export, the
# derived student does.
expect 0 "derived architecture: adarec:" -- seq distill --data "$seq" --teacher "$work/seq-t/best.pt" \
  --student adarec:max_len=10,hidden=8,layers=1 --method adarec --epochs 1 -o "$work/seq-ada"
expect 2 "is the search space, not a student" -- export "$work/seq-ada/best.pt" -o "$work/seq-ada.rpm"
expect 0 "valid (best epoch)" -- seq distill --data "$seq" --teacher "$work/seq-t/best.pt" \
  --student adarec:max_len=10,hidden=8,layers=1,ops=c3-skip-avg3 --method adarec --epochs 1 -o "$work/seq-ada2"
expect 0 "next item adarec:" -- export "$work/seq-ada2/best.pt" -o "$work/seq-ada.rpm"
expect 0 "after 2 item(s)" -- next "$work/seq-ada.rpm" --history i1,i2 -k 3
expect 2 "unknown op 'c9'" -- seq train --data "$seq" --model adarec:layers=1,ops=c9-skip-zero
expect 2 "a sasrec teacher and a bert4rec student" -- seq distill --data "$seq" --teacher "$work/seq-t/best.pt" \
  --student bert4rec:max_len=10,hidden=8 --method kd --epochs 1 -o "$work/seq-x"
expect 2 "unknown next-item model 'gru4rec'" -- seq train --data "$seq" --model gru4rec
expect 2 "not a next-item model checkpoint" -- seq evaluate --data "$seq" "$work/ctr-t/best.pt"
expect 2 "not on this data" -- seq evaluate --data "synthetic:users=100,items=300" "$work/seq-t/best.pt"
expect 0 "valid (best epoch)" -- seq train --resume "$work/seq-t/last.pt" --data "$seq" --epochs 3 -o "$work/seq-t" --patience 0
expect 2 "lr 0.002 -> 0.01" -- seq train --resume "$work/seq-t/last.pt" --data "$seq" --epochs 4 --lr 0.01 -o "$work/seq-t"
expect 2 "training diverged" -- seq train --data "$seq" --model sasrec:loss=ce,max_len=10,hidden=8 --lr 1e9 --epochs 1 -o ""
# Options files work for every training command: keys are the command's long options, declared
# once with the training options (train/options.h); errors name the file, line and key.
printf 'model: "fm:dim=2"\nepochs: 1\nbatch_size: 512\noutput: %s\n' "$work/ctr-opt" > "$work/ctr-opt.yaml"
expect 0 "model fm:dim=2" -- ctr train --data "$ctr" --options "$work/ctr-opt.yaml" -q
printf 'epochs: 1\nnegatives: 4\n' > "$work/ctr-bad.yaml"
expect 2 "ctr-bad.yaml:2: field 'negatives': unknown option" -- ctr train --data "$ctr" \
  --options "$work/ctr-bad.yaml"
printf 'epochs: 1\nlr: -1\n' > "$work/seq-bad.yaml"
expect 2 "seq-bad.yaml:2: field 'lr': lr must be > 0, got -1" -- seq train --data "$seq" \
  --options "$work/seq-bad.yaml"
expect 2 "sampler: unknown sampler 'zipf'" -- train --data "$small" --model mf --sampler zipf
# precision: bf16 trains where the CPU has fast bf16 products and is refused with the reason
# elsewhere; any other value is refused.
expect 2 "precision must be fp32 or bf16, got 'fp16'" -- ctr train --data "$ctr" --precision fp16 --epochs 1
if "$bin" doctor 2>/dev/null | grep -qE "avx512_bf16|amx_bf16"; then
  expect 0 "valid AUC" -- ctr train --data "$ctr" --model fm:dim=2 --precision bf16 --epochs 1 -o "$work/ctr-bf16"
  grep -q '"precision": "bf16"' "$work/ctr-bf16/results.json" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: a bf16 run's results.json does not say so"; }
else
  expect 2 "needs a CPU with AVX512-BF16 or AMX" -- ctr train --data "$ctr" --precision bf16 --epochs 1 -o "$work/ctr-bf16"
fi
expect 2 "run --seeds: 3 is not one of the recipe's seeds" -- run "$(dirname "$0")/../../recipes/demo.yaml" --seeds 3 -o "$work/seeds"
expect 2 "holds the input" -- seq distill --data "$seq" --teacher "$work/seq-t/best.pt" --student sasrec:loss=ce,max_len=10,hidden=8 --method kd -o "$work/seq-t"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
