"""Distil a teacher into a student from Python and serve recommendations from the shipped file.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/distill.py [DATA]

DATA defaults to ml-100k when ../shared/data (or `recpress data download ml-100k`) has it, else
to embedded synthetic data. Plots accuracy against size with matplotlib when it is installed."""

import sys

import recpress

try:
    data = recpress.Dataset.load(sys.argv[1] if len(sys.argv) > 1 else "ml-100k")
except recpress.Error as e:
    print(f"{e}; using synthetic data instead")
    data = recpress.Dataset.load("synthetic:users=943,items=1682,mean=100,min=20")
print(data)

results = recpress.distill(
    data, teacher="mf:dim=200", student="mf:dim=20", methods=["kd", "derrd"],
    teacher_options={"loss": "bpr", "optimizer": "lazyadam", "batch_size": 1024, "epochs": 300},
    student_options={"loss": "bpr", "optimizer": "lazyadam", "batch_size": 1024, "epochs": 300},
    name="python-example", quiet=True)
table = recpress.frame(results)
print(table[["role", "model", "method", "NDCG@10", "parameters"]].to_string(index=False))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.scatter(table["parameters"], table["NDCG@10"])
    for _, row in table.iterrows():
        ax.annotate(f"{row['model']} {row['method']}", (row["parameters"], row["NDCG@10"]))
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("NDCG@10")
    fig.savefig("results/python-example/accuracy-vs-size.png")
    print("wrote results/python-example/accuracy-vs-size.png")
except ImportError:
    print("(matplotlib is not installed: no plot)")

student = recpress.load(recpress.shipped(results, method="derrd", dtype="int8"))
users = data.user_ids()[:3]
ids, scores = student.recommend(users, k=5)
for user, row, s in zip(users, ids, scores):
    print(f"user {user}: " + ", ".join(f"{i} ({v:.2f})" for i, v in zip(row, s)))
