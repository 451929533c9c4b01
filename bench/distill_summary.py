#!/usr/bin/env python3
# Summary of a bench/distill.sh run: mean +- std over seeds per row, a table on stderr and JSON on
# stdout.  python3 bench/distill_summary.py OUT_DIR DATASET "SEEDS" "ROWS"
import json, os, statistics, sys
out, dataset, seeds, rows = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
def stats(xs):
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0) if xs else (float("nan"), 0.0)
table, summary = [], {}
for row in rows:
    runs = [os.path.join(out, f"{row}-s{s}") for s in seeds]
    runs = [r for r in runs if os.path.exists(os.path.join(r, "results.json"))]
    if not runs: continue
    res = [json.load(open(os.path.join(r, "results.json"))) for r in runs]
    entry = {"runs": len(runs), "method": res[0].get("methods"), "model": res[0].get("model")}
    for proto, name in [("sampled:uniform:499", None), ("sampled:uniform:99", "test-sampled-uniform-99.json"),
                        ("full", "test-full.json")]:
        ms = [x["test"]["metrics"] for x in res] if name is None else \
             [json.load(open(os.path.join(r, name)))["metrics"] for r in runs if os.path.exists(os.path.join(r, name))]
        entry[proto] = {k: stats([m[k] for m in ms]) for k in ["HR@5", "HR@10", "NDCG@5", "NDCG@10"]} if ms else {}
    entry["parameters"] = res[0].get("parameters")
    entry["seconds_per_epoch"] = stats([x.get("seconds_per_epoch", 0) for x in res])
    entry["best_epoch"] = stats([x.get("best_epoch", 0) for x in res])
    summary[row] = entry
teacher = summary.get("teacher", {}).get("sampled:uniform:499", {}).get("NDCG@10", (float("nan"),))[0]
alone = summary.get("alone", {}).get("sampled:uniform:499", {}).get("NDCG@10", (float("nan"),))[0]
fmt = lambda ms: f"{ms[0]:.4f}±{ms[1]:.4f}"
lines = [f"{'row':<8} {'HR@5':>15} {'HR@10':>15} {'NDCG@5':>15} {'NDCG@10':>15} {'%teacher':>8} {'vs alone':>8} "
         f"{'N@10 u99':>8} {'N@10 full':>9} {'params':>9} {'s/epoch':>7} {'best ep':>7} seeds"]
for row, e in summary.items():
    m = e["sampled:uniform:499"]; n = m["NDCG@10"][0]
    u99 = e["sampled:uniform:99"].get("NDCG@10", (float("nan"),))[0]
    full = e["full"].get("NDCG@10", (float("nan"),))[0]
    lines.append(f"{row:<8} {fmt(m['HR@5']):>15} {fmt(m['HR@10']):>15} {fmt(m['NDCG@5']):>15} {fmt(m['NDCG@10']):>15} "
                 f"{100*n/teacher:7.1f}% {100*(n/alone-1):+7.1f}% {u99:8.4f} {full:9.4f} "
                 f"{e['parameters'] or 0:>9,} {e['seconds_per_epoch'][0]:7.1f} {e['best_epoch'][0]:7.1f} {e['runs']}")
if os.environ.get("MARKDOWN"):  # the table as docs/results.md shows it
    pm = lambda ms: f"{ms[0]:.4f} ± {ms[1]:.4f}" if len(seeds) > 1 else f"{ms[0]:.4f}"
    lines = ["| row | method | HR@5 | HR@10 | NDCG@5 | NDCG@10 | % of teacher | vs alone | NDCG@10 uniform:99 "
             "| NDCG@10 full | params | s/epoch | best epoch | seeds |", "|" + "---|" * 14]
    for row, e in summary.items():
        m = e["sampled:uniform:499"]; n = m["NDCG@10"][0]
        u99 = e["sampled:uniform:99"].get("NDCG@10", (float("nan"), 0.0))
        full = e["full"].get("NDCG@10", (float("nan"), 0.0))
        method = "-" if not e["method"] else "`" + " + ".join(e["method"]) + "`" if isinstance(e["method"], list) else f"`{e['method']}`"
        lines.append(f"| {row} | {method} | {pm(m['HR@5'])} | {pm(m['HR@10'])} | {pm(m['NDCG@5'])} | **{pm(m['NDCG@10'])}** "
                     f"| {100*n/teacher:.1f}% | {100*(n/alone-1):+.1f}% | {pm(u99)} | {pm(full)} | {e['parameters'] or 0:,} "
                     f"| {e['seconds_per_epoch'][0]:.1f} | {e['best_epoch'][0]:.1f} | {e['runs']} |")
print("\n".join(lines), file=sys.stderr)
print(json.dumps({"dataset": dataset, "seeds": seeds, "protocol_train": "sampled:uniform:499", "rows": summary}, indent=1))
