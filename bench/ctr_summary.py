#!/usr/bin/env python3
# Summary of a bench/ctr.sh run: mean +- std over seeds per row, tables on stderr, JSON on stdout.
#   python3 bench/ctr_summary.py OUT_DIR DATASET "SEEDS" "MODEL_ROWS" "DISTILL_ROWS"
import json, os, statistics, sys
out, dataset, seeds = sys.argv[1], sys.argv[2], sys.argv[3].split()
model_rows, distill_rows = sys.argv[4].split(), sys.argv[5].split()

def stats(xs):
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0) if xs else (float("nan"), 0.0)

def collect(row):
    res = [json.load(open(p)) for p in (os.path.join(out, f"{row}-s{s}", "results.json") for s in seeds)
           if os.path.exists(p)]
    if not res:
        return None
    return {"runs": len(res), "model": res[0]["model"], "parameters": res[0]["parameters"],
            "bytes": res[0]["bytes"], "distillation": res[0].get("distillation"),
            "AUC": stats([r["test"]["AUC"] for r in res]), "LogLoss": stats([r["test"]["LogLoss"] for r in res]),
            "GAUC": stats([r["test"].get("GAUC", float("nan")) for r in res]),
            "seconds_per_epoch": stats([r["seconds_per_epoch"] for r in res]),
            "samples_per_second": stats([r["samples_per_second"] for r in res]),
            "inference_rows_per_second": stats([r["test"]["rows_per_second"] for r in res]),
            "best_epoch": stats([r["best_epoch"] for r in res])}

fmt = lambda ms: f"{ms[0]:.4f}±{ms[1]:.4f}"
summary = {"dataset": dataset, "seeds": seeds, "models": {}, "distill": {}}
print(f"== {dataset}: models (test, {len(seeds)} seeds)", file=sys.stderr)
print(f"{'model':<10} {'AUC':>15} {'LogLoss':>15} {'GAUC':>15} {'params':>9} {'s/epoch':>7} {'samples/s':>9} "
      f"{'infer rows/s':>12} {'best ep':>7}", file=sys.stderr)
for row in model_rows:
    e = collect(row)
    if e is None: continue
    summary["models"][row] = e
    print(f"{row:<10} {fmt(e['AUC']):>15} {fmt(e['LogLoss']):>15} {fmt(e['GAUC']):>15} {e['parameters']:>9,} "
          f"{e['seconds_per_epoch'][0]:>7.2f} {e['samples_per_second'][0]:>9,.0f} "
          f"{e['inference_rows_per_second'][0]:>12,.0f} {e['best_epoch'][0]:>7.1f}", file=sys.stderr)
teacher = summary["models"].get("deepfm")
print(f"\n== {dataset}: distillation (teacher deepfm{'' if teacher is None else ' AUC %.4f' % teacher['AUC'][0]})",
      file=sys.stderr)
print(f"{'row':<14} {'AUC':>15} {'LogLoss':>15} {'params':>8} {'/teacher':>8} {'gap closed':>10} "
      f"{'infer rows/s':>12}", file=sys.stderr)
alone = {}
for row in distill_rows:
    e = collect(row)
    if e is None: continue
    summary["distill"][row] = e
    base = row.split("-")[0]
    if row.endswith("-alone"): alone[base] = e["AUC"][0]
    if base == "lr" and "lr" in summary["models"]: alone.setdefault("lr", summary["models"]["lr"]["AUC"][0])
    gap = ""
    if teacher is not None and base in alone and not row.endswith("-alone"):
        g = teacher["AUC"][0] - alone[base]
        if g > 0:
            e["gap_closed"] = (e["AUC"][0] - alone[base]) / g
            gap = f"{100 * e['gap_closed']:.0f}%"
    ratio = f"1/{teacher['parameters'] / e['parameters']:.1f}" if teacher else ""
    print(f"{row:<14} {fmt(e['AUC']):>15} {fmt(e['LogLoss']):>15} {e['parameters']:>8,} {ratio:>8} {gap:>10} "
          f"{e['inference_rows_per_second'][0]:>12,.0f}", file=sys.stderr)
json.dump(summary, sys.stdout, indent=2)
print()
