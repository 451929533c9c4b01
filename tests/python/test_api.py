"""The Python API (python/recpress, src/python/module.cc) through Debian's python3 and pytest:
datasets, studies from dicts and files (numbers equal to the CLI's on the same recipe and seed),
the train/distill shortcuts, shipped models of the three tasks, and bad input as recpress.Error
with the CLI's one-line messages. Run by ctest (`./run.sh test`) with PYTHONPATH=build/python."""

import json
import os
import subprocess

import numpy as np
import pytest

import recpress

TINY = "synthetic:users=60,items=50,mean=10,min=5"


def tiny_topn(name, methods=("none", "kd")):
    return {
        "name": name,
        "data": TINY,
        "protocol": "sampled:uniform:20",
        "metrics": "hr@10 ndcg@10",
        "seeds": [1],
        "teacher": {"model": "mf:dim=8", "loss": "bpr", "lr": 0.01, "epochs": 2},
        "student": {"model": "mf:dim=2", "loss": "bpr", "lr": 0.01, "epochs": 2},
        "methods": list(methods),
        "export": ["fp32", "int8"],
        "latency_users": 5,
    }


def test_datasets_load_and_from_arrays():
    d = recpress.Dataset.load(TINY)
    assert len(d) > 0 and d.num_users == 60 and d.num_items <= 50
    stats = d.stats()
    assert stats["interactions"] == len(d) and 0 < stats["density"] <= 1
    cols = d.arrays()
    assert cols["user"].dtype == np.int32 and len(cols["item"]) == len(d)
    assert cols["user"].max() < d.num_users
    # Raw ids of either type, interned in order of first appearance.
    a = recpress.Dataset.from_arrays(["u1", "u2", "u1"], [10, 20, 20], ratings=[5, 3, 4],
                                     times=[3, 1, 2])
    assert (len(a), a.num_users, a.num_items) == (3, 2, 2)
    assert a.user_ids() == ["u1", "u2"] and a.item_ids() == ["10", "20"]
    assert a.arrays()["rating"].tolist() == [5.0, 3.0, 4.0]
    assert a.arrays()["timestamp"].tolist() == [3, 1, 2]


def test_datasets_from_pandas():
    import pandas as pd  # python3-pandas: one of run.sh's packages
    df = pd.DataFrame({"who": ["u1", "u2", "u1"], "what": [10, 20, 20], "stars": [5, 3, 4],
                       "when": [3, 1, 2]})
    d = recpress.Dataset.from_pandas(df, user="who", item="what", rating="stars", time="when")
    assert (len(d), d.num_users, d.num_items) == (3, 2, 2)
    assert d.arrays()["rating"].tolist() == [5.0, 3.0, 4.0]
    with pytest.raises(recpress.Error, match="no column 'user'"):
        recpress.Dataset.from_pandas(df)


def test_bad_data_is_a_one_line_error(tmp_path):
    with pytest.raises(recpress.Error, match="3 users but 2 items"):
        recpress.Dataset.from_arrays(["a", "b", "c"], ["x", "y"])
    with pytest.raises(recpress.Error, match=r"users\[1\] is neither a str nor an int"):
        recpress.Dataset.from_arrays(["a", 1.5], ["x", "y"])
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item\n1,2\n3\n")
    with pytest.raises(recpress.Error) as e:
        recpress.Dataset.load(str(bad), format="csv")
    assert "bad.csv" in str(e.value) and "\n" not in str(e.value).strip()


def test_run_a_dict_equals_the_cli_and_ships_a_student(tmp_path):
    recipe = tiny_topn("py-tiny")
    results = recpress.run(recipe, output=str(tmp_path / "py"), quiet=True)
    assert [r["method"] for r in results["summary"]] == ["none", "none", "kd"]
    # The same recipe through the CLI: the same numbers (same seed, one thread).
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(recipe))  # JSON is YAML
    cli = os.environ.get("RECPRESS")
    if cli:  # ctest always sets it; a bare `pytest` without the CLI checks the rest
        subprocess.run([cli, "--quiet", "run", str(path), "-o", str(tmp_path / "cli")],
                       check=True, capture_output=True)
        with open(tmp_path / "cli" / "py-tiny" / "results.json") as f:
            from_cli = json.load(f)
        def numbers(summary):  # everything but the wall-clock timings
            return [{k: v for k, v in row.items() if k != "seconds_per_epoch"} for row in summary]
        assert numbers(from_cli["summary"]) == numbers(results["summary"])
    # A file runs too, and reuses the finished runs.
    again = recpress.run(str(path), output=str(tmp_path / "py"), quiet=True)
    assert again["summary"] == results["summary"]
    table = recpress.frame(results)
    assert list(table["method"]) == ["none", "none", "kd"] and "NDCG@10" in table.columns
    # The shipped kd student: top-k of a batch of users, best first, seen items excluded.
    model = recpress.load(recpress.shipped(results, method="kd", dtype="int8"))
    assert isinstance(model, recpress.TopNModel) and model.dtype == "int8"
    users = recpress.Dataset.load(TINY).user_ids()[:3]
    ids, scores = model.recommend(users, k=5)
    assert ids.shape == (3, 5) and scores.shape == (3, 5) and scores.dtype == np.float32
    assert all((np.diff(row) <= 0).all() for row in scores)
    assert isinstance(ids[0, 0], str)
    with pytest.raises(recpress.Error, match="unknown user id 'nobody'"):
        model.recommend(["nobody"])
    with pytest.raises(recpress.Error, match="k must be in"):
        model.recommend(users[:1], k=0)
    # The teacher's checkpoint: its tables as numpy arrays, scores as the model computes them.
    folder = recpress.run_folder(results, role="teacher")
    ck = recpress.checkpoint(os.path.join(folder, "best.pt"))
    assert ck["header"]["task"] == "topn" and ck["header"]["model"] == "mf:dim=8"
    tables = ck["parameters"]
    assert {t.shape[1] for t in tables.values() if t.ndim == 2} == {8}
    assert all(t.dtype == np.float32 and np.isfinite(t).all() for t in tables.values())
    with pytest.raises(recpress.Error, match="junk.pt"):
        (tmp_path / "junk.pt").write_bytes(b"junk")
        recpress.checkpoint(str(tmp_path / "junk.pt"))


def test_shortcuts_take_the_recipe_keys(tmp_path):
    data = recpress.Dataset.load(TINY)
    results = recpress.distill(data, teacher="mf:dim=8", student="mf:dim=2", methods=["kd"],
                               teacher_options={"loss": "bpr", "epochs": 2},
                               student_options={"loss": "bpr", "epochs": 2},
                               output=str(tmp_path), quiet=True, protocol="sampled:uniform:20",
                               latency_users=5)
    assert [r["method"] for r in results["summary"]] == ["none", "none", "kd"]
    assert results["data"]["checksum"] == data.checksum
    with pytest.raises(recpress.Error, match="lrr"):
        recpress.distill(data, "mf:dim=8", "mf:dim=2", teacher_options={"lrr": 1},
                         output=str(tmp_path), quiet=True)
    with pytest.raises(recpress.Error, match="unknown"):
        recpress.distill(data, "mf:dim=8", "gru:dim=2", output=str(tmp_path), quiet=True)
    trained = recpress.train(TINY, "mf:dim=4", loss="bpr", epochs=1, output=str(tmp_path),
                             quiet=True, name="py-train", protocol="sampled:uniform:20")
    assert len(trained["summary"]) == 1 and trained["summary"][0]["role"] == "teacher"


def test_next_item_and_ctr_models(tmp_path):
    sequences = "synthetic:users=80,items=50,mean=12,min=6,markov=0.7"
    seq = recpress.run({
        "task": "seq", "name": "py-seq", "data": sequences,
        "protocol": "sampled:uniform:20", "metrics": "hr@10 ndcg@10",
        "teacher": {"model": "sasrec:loss=ce,hidden=16,max_len=10", "epochs": 2, "lr": 0.005},
        "student": {"model": "sasrec:loss=ce,hidden=8,layers=1,heads=1,max_len=10", "epochs": 2},
        "methods": ["none"], "latency_users": 5,
    }, output=str(tmp_path), quiet=True)
    m = recpress.load(recpress.shipped(seq))
    assert isinstance(m, recpress.NextItemModel)
    items = recpress.Dataset.load(sequences).item_ids()
    ids, scores = m.next([items[:3], [items[3], "unknown-item"]], k=4, exclude_history=True)
    assert ids.shape == (2, 4) and not set(items[:3]) & set(ids[0].tolist())
    assert (np.diff(scores[1]) <= 0).all()
    with pytest.raises(recpress.Error, match="no item the model knows"):
        m.next([["nope"]])
    ctr = recpress.run({
        "task": "ctr", "name": "py-ctr", "data": "synthetic:users=200,items=60",
        "teacher": {"model": "fm:dim=4", "epochs": 1}, "student": {"model": "lr", "epochs": 1},
        "methods": ["none"], "latency_users": 5,
    }, output=str(tmp_path), quiet=True)
    c = recpress.load(recpress.shipped(ctr))
    assert isinstance(c, recpress.CtrModel) and "user" in c.inputs
    p = c.predict([{"user": "1", "item": "2"}, {}])
    assert p.shape == (2,) and ((p > 0) & (p < 1)).all()
    with pytest.raises(recpress.Error, match="row 0 is not a dict"):
        c.predict([["1", "2"]])


def test_bad_calls_are_errors(tmp_path):
    with pytest.raises(recpress.Error, match="no such recipe file"):
        recpress.run(str(tmp_path / "missing.yaml"))
    with pytest.raises(recpress.Error, match="a path or a dict"):
        recpress.run(42)
    with pytest.raises(recpress.Error, match="missing.rpm"):
        recpress.load(str(tmp_path / "missing.rpm"))
    junk = tmp_path / "junk.rpm"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(recpress.Error, match="junk.rpm"):
        recpress.load(str(junk))
    assert "mf" in recpress.catalogue() and "teacher" in recpress.recipe_reference()
