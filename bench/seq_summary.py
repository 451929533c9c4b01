#!/usr/bin/env python3
# Summary of a bench/seq.sh run: a table on stderr, JSON on stdout.
#   python3 bench/seq_summary.py OUT_DIR DATASET "SEEDS" "ROWS"
import json, os, statistics, sys
out, dataset, seeds, rows = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()

def table_metrics(path):  # the test row of `seq evaluate`'s table
    if not os.path.exists(path): return {}
    lines = [l.split() for l in open(path) if l.strip()]
    head, row = lines[0][1:], lines[-1][-len(lines[0][1:]):]
    return {k: float(v) for k, v in zip(head, row)}

def mean(xs): return statistics.mean(xs) if xs else float("nan")

summary = {"dataset": dataset, "seeds": seeds, "rows": {}}
for row in rows:
    runs = [os.path.join(out, f"{row}-s{s}") for s in seeds]
    runs = [r for r in runs if os.path.exists(os.path.join(r, "results.json"))]
    if not runs: continue
    res = [json.load(open(os.path.join(r, "results.json"))) for r in runs]
    e = {"model": res[0]["model"], "parameters": res[0]["parameters"], "bytes": res[0]["bytes"],
         "distillation": res[0].get("distillation"), "runs": len(runs)}
    for name, get in [("popularity:100", lambda r, d: r["test"]["metrics"]),
                      ("uniform:100", lambda r, d: table_metrics(os.path.join(d, "test-sampled-uniform-100.txt"))),
                      ("full", lambda r, d: table_metrics(os.path.join(d, "test-full.txt")))]:
        ms = [get(r, d) for r, d in zip(res, runs)]
        e[name] = {k: mean([m[k] for m in ms if k in m]) for k in ["HR@1", "HR@5", "HR@10", "NDCG@5", "NDCG@10", "MRR@1000"]}
    # Wall time (training + validation) to reach 95% of the best validation NDCG@10.
    times = []
    for d in runs:
        h = json.load(open(os.path.join(d, "history.json")))
        best = max(x["valid"]["NDCG@10"] for x in h)
        times.append(next(x["wall_seconds"] for x in h if x["valid"]["NDCG@10"] >= 0.95 * best))
    e["wall_to_95pct_s"] = mean(times)
    for k in ["seconds_per_epoch", "samples_per_second", "wall_seconds", "peak_rss_mib", "latency_ms_p50", "best_epoch", "epochs_run"]:
        e[k] = mean([r.get(k, float("nan")) for r in res])
    summary["rows"][row] = e
t = summary["rows"].get("sasrec")
print(f"{'row':<13} {'HR@10':>6} {'NDCG@10':>7} {'%teach':>6} {'u100 N@10':>9} {'full N@10':>9} {'params':>8} "
      f"{'s/ep':>5} {'pred/s':>7} {'to95%':>6} {'best':>4} {'RSS MiB':>7} {'ms/user':>7}", file=sys.stderr)
for row, e in summary["rows"].items():
    m = e["popularity:100"]
    pct = f"{100 * m['NDCG@10'] / t['popularity:100']['NDCG@10']:.1f}" if t else ""
    print(f"{row:<13} {m['HR@10']:>6.4f} {m['NDCG@10']:>7.4f} {pct:>6} {e['uniform:100'].get('NDCG@10', float('nan')):>9.4f} "
          f"{e['full'].get('NDCG@10', float('nan')):>9.4f} {e['parameters']:>8,} {e['seconds_per_epoch']:>5.1f} "
          f"{e['samples_per_second']:>7,.0f} {e['wall_to_95pct_s']:>6.0f} {e['best_epoch']:>4.0f} {e['peak_rss_mib']:>7.0f} "
          f"{e['latency_ms_p50']:>7.2f}", file=sys.stderr)
json.dump(summary, sys.stdout, indent=2)
print()
