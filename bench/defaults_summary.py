#!/usr/bin/env python3
"""Table of a study's finished runs (results/NAME/runs/*/record.json), seeds pooled: test NDCG@10
under the selection protocol and under full ranking, % of the teacher, change vs the student
alone (same seeds only), epochs to best, runs still improving at their last epoch, and the runs'
training wall time (each run's history.json, so also for a study run in several invocations).
Unlike the study's own report it reads partial studies (a run per finished grid point).
  python3 bench/defaults_summary.py results/defaults-ml-1m [MONITOR] > table.md
Writes the table as markdown to stdout and JSON next to the runs (summary-partial.json)."""
import glob, json, os, statistics, sys

root = sys.argv[1]
monitor = sys.argv[2] if len(sys.argv) > 2 else "NDCG@10"
runs = {}
for path in sorted(glob.glob(os.path.join(root, "runs", "*", "record.json"))):
    r = json.load(open(path))
    key = (r["role"], r["method"])
    runs.setdefault(key, {})[r["seed"]] = r

def value(r, protocol):
    tests = r["test"]
    name = protocol if protocol in tests else next(iter(tests))
    return tests[name].get(monitor) if protocol != "main" else next(iter(tests.values())).get(monitor)

teacher = runs.get(("teacher", "none"), {})
alone = runs.get(("student", "none"), {})
protocols = list(next(iter(teacher.values()))["test"].keys()) if teacher else []
main, rest = protocols[0], protocols[1:]
def training_wall(r):
    # The run's training and validation wall time: history.json's last cumulative wall_seconds.
    h = json.load(open(os.path.join(r["folder"], "history.json")))
    return h[-1].get("wall_seconds", 0.0) if h else 0.0

rows = []
for (role, method), by_seed in sorted(runs.items(), key=lambda kv: (kv[0][0] != "teacher", kv[0][1] != "none", kv[0][1])):
    seeds = sorted(by_seed)
    row = {"role": role, "method": method, "seeds": seeds}
    for p in protocols:
        vals = [by_seed[s]["test"][p][monitor] for s in seeds]
        row[p] = (statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0)
        t = [teacher[s]["test"][p][monitor] for s in seeds if s in teacher]
        a = [alone[s]["test"][p][monitor] for s in seeds if s in alone]
        if len(t) == len(seeds):
            row[p + " kept"] = 100 * statistics.mean(vals) / statistics.mean(t)
        if len(a) == len(seeds):
            row[p + " vs alone"] = 100 * (statistics.mean(vals) / statistics.mean(a) - 1)
    row["best_epoch"] = statistics.mean(by_seed[s]["best_epoch"] for s in seeds)
    row["still_improving"] = sum(1 for s in seeds if by_seed[s]["best_epoch"] == by_seed[s]["epochs_run"])
    row["s_per_epoch"] = statistics.mean(by_seed[s]["seconds_per_epoch"] for s in seeds)
    row["train_wall_minutes"] = sum(training_wall(by_seed[s]) for s in seeds) / 60
    rows.append(row)

def cell(row, p):
    m, s = row[p]
    text = f"{m:.4f}" + (f" ± {s:.4f}" if len(row["seeds"]) > 1 else "")
    extra = []
    if p + " kept" in row and row["role"] != "teacher": extra.append(f"{row[p + ' kept']:.1f}%")
    if p + " vs alone" in row and row["method"] != "none": extra.append(f"{row[p + ' vs alone']:+.1f}%")
    return text + (" (" + ", ".join(extra) + ")" if extra else "")

head = ["row", "method", f"{monitor} {main}"] + [f"{monitor} {p}" for p in rest] + ["best epoch", "s/epoch", "train min", "seeds"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for row in rows:
    label = row["role"] if row["method"] == "none" else row["role"]
    flag = f" ({row['still_improving']} still improving)" if row["still_improving"] else ""
    cells = [label, "-" if row["method"] == "none" else f"`{row['method']}`"] + [cell(row, p) for p in protocols]
    cells += [f"{row['best_epoch']:.1f}{flag}", f"{row['s_per_epoch']:.1f}",
              f"{row['train_wall_minutes']:.1f}", ",".join(map(str, row["seeds"]))]
    print("| " + " | ".join(cells) + " |")
print(f"\ntraining and validation wall time of these runs: "
      f"{sum(r['train_wall_minutes'] for r in rows):.1f} min (tests, exports and reports not included)")
tmp = os.path.join(root, "summary-partial.json.part")
json.dump(rows, open(tmp, "w"), indent=2)
os.replace(tmp, os.path.join(root, "summary-partial.json"))
