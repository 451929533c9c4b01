"""RecPress from Python: distil a recommender into a small, fast student and ship it.

The C++ core does the work (``recpress._recpress``); this package adds what is easier in Python:
recipes given as dicts, ``train``/``distill`` shortcuts that build a recipe (so they take the
recipes' keys, defaults and errors: ``recpress.recipe_reference()`` lists them), and pandas
tables of a study's results.

    import recpress
    data = recpress.Dataset.load("ml-100k")
    results = recpress.distill(data, teacher="mf:dim=200", student="mf:dim=20", methods=["kd"])
    recpress.frame(results)                       # one row per model x method (pandas)
    student = recpress.load(recpress.shipped(results, method="kd"))
    ids, scores = student.recommend(["1", "2"], k=10)
"""

import json
import os

from ._recpress import (  # noqa: F401  (the public API)
    CtrModel,
    Dataset,
    Error,
    NextItemModel,
    TopNModel,
    __version__,
    catalogue,
    load,
    recipe_reference,
)
from . import _recpress

__all__ = [
    "CtrModel", "Dataset", "Error", "NextItemModel", "TopNModel", "__version__", "catalogue",
    "checkpoint", "distill", "frame", "load", "recipe_reference", "run", "run_folder", "shipped",
    "train",
]


def _default_data_root():
    """$RECPRESS_DATA, else ../shared/data beside the repository this module was built in (the
    C++ default looks beside the working directory and the executable, here python3's)."""
    if os.environ.get("RECPRESS_DATA"):
        return os.environ["RECPRESS_DATA"]
    here = os.path.dirname(os.path.abspath(__file__))
    for up in (4, 3):  # build/python/recpress -> repo/.. ; an install keeps the C++ default
        candidate = os.path.join(here, *([".."] * up), "shared", "data")
        if os.path.isdir(candidate):
            return os.path.normpath(candidate)
    return ""


_load_dataset = Dataset.load


def _load(source, **options):
    if not options.get("data_root"):
        options["data_root"] = _default_data_root()
    return _load_dataset(source, **options)


_load.__doc__ = _load_dataset.__doc__
Dataset.load = staticmethod(_load)


def dataset_from_pandas(df, user="user", item="item", rating=None, time=None, name="dataframe"):
    """A ``Dataset`` from a pandas DataFrame's columns (raw ids of str or int; optional rating and
    time columns); the same as ``Dataset.from_arrays`` on those columns."""
    for column in (user, item, rating, time):
        if column is not None and column not in df.columns:
            raise Error(f"from_pandas: no column '{column}' (columns: {', '.join(map(str, df.columns))})")
    return Dataset.from_arrays(
        df[user].tolist(), df[item].tolist(),
        ratings=None if rating is None else df[rating].astype(float).tolist(),
        times=None if time is None else df[time].astype("int64").tolist(), name=name)


Dataset.from_pandas = staticmethod(dataset_from_pandas)


def run(recipe, data=None, output="results", seeds=None, quiet=False, data_root="",
        use_cache=True):
    """Run a study: ``recipe`` is a recipe file's path or a dict of its keys (see
    ``recipe_reference()``). ``data``: a ``Dataset`` to use instead of the recipe's ``data``
    (top-N and next-item). Results go to ``output/<name>/`` as with ``recpress run``; the
    returned dict is results.json's content. Finished runs are reused (cached by their inputs).
    Ctrl-C stops training (KeyboardInterrupt) with the last finished epoch saved."""
    if isinstance(recipe, dict):
        text, origin, is_file = json.dumps(recipe), "<dict>", False
    elif isinstance(recipe, (str, os.PathLike)):
        origin = os.fspath(recipe)
        if not os.path.isfile(origin):
            raise Error(f"{origin}: no such recipe file")
        text, is_file = "", True
    else:
        raise Error(f"run: recipe must be a path or a dict, got {type(recipe).__name__}")
    if data is not None and not isinstance(data, Dataset):
        raise Error(f"run: data must be a recpress.Dataset, got {type(data).__name__}")
    return _recpress._run_recipe(text, origin, is_file, os.fspath(output), list(seeds or []),
                                 data, data_root or _default_data_root(), use_cache, quiet)


def _data_fields(data):
    if isinstance(data, Dataset):
        return data.name, data
    if isinstance(data, str):
        return data, None
    raise Error(f"data must be a dataset name/path or a recpress.Dataset, got {type(data).__name__}")


def distill(data, teacher, student, methods=("kd",), task="topn", name="python-distill",
            teacher_options=None, student_options=None, output="results", quiet=False, **keys):
    """Train ``teacher``, then ``student`` alone and with each of ``methods``: a recipe with
    these rows (``keys`` are further recipe keys: protocol, metrics, seeds, export...).
    ``teacher_options`` / ``student_options``: the sections' training keys (lr, epochs,
    batch_size, loss, patience, ...)."""
    spec, dataset = _data_fields(data)
    recipe = {
        "task": task, "name": name, "data": spec,
        "teacher": {"model": teacher, **(teacher_options or {})},
        "student": {"model": student, **(student_options or {})},
        "methods": ["none", *methods], **keys,
    }
    return run(recipe, data=dataset, output=output, quiet=quiet)


_RECIPE_KEYS = ("split", "protocol", "extra_protocols", "metrics", "monitor", "seeds", "export",
                "latency_users", "description")


def train(data, model, task="topn", name="python-train", output="results", quiet=False,
          **options):
    """Train one model and evaluate it: ``options`` are the recipe's training keys (lr, epochs,
    loss, ...) and study keys (protocol, metrics, seeds, ...); returns the study's results (its
    run folder holds best.pt)."""
    spec, dataset = _data_fields(data)
    study = {k: options.pop(k) for k in _RECIPE_KEYS if k in options}
    recipe = {"task": task, "name": name, "data": spec, "teacher": {"model": model, **options},
              "student": {"model": model, **options}, "methods": [], **study}
    return run(recipe, data=dataset, output=output, quiet=quiet)


def checkpoint(path, as_torch=False):
    """A trained checkpoint (a run's best.pt or last.pt, any task): ``{"header": {...}, "parameters":
    {name: array}}``, every parameter (embedding tables included) a float32 numpy array, or a torch
    tensor with ``as_torch`` (needs python3-torch)."""
    contents = _recpress._checkpoint(os.fspath(path))
    if as_torch:
        import torch  # optional dependency

        contents["parameters"] = {k: torch.from_numpy(v) for k, v in contents["parameters"].items()}
    return contents


def run_folder(results, role="teacher", method="none", model=None):
    """The folder of a finished run in a study's results (it holds best.pt)."""
    for run_ in results["runs"]:
        if run_["role"] == role and run_["method"] == method and (model is None or run_["model"] == model):
            return run_["folder"]
    raise Error(f"no {role} run with method '{method}' in these results")


def frame(results):
    """A study's summary as a pandas DataFrame: one row per (role, model, method), the headline
    protocol's metrics (mean over seeds), kept share, vs alone, parameters. Needs pandas."""
    import pandas as pd  # optional dependency

    rows = []
    for row in results["summary"]:
        flat = {"role": row["role"], "model": row["model"], "method": row.get("method", "none")}
        for metric, value in row.get("test", {}).items():
            flat[metric] = value["mean"] if isinstance(value, dict) else value
        for key in ("kept_percent", "vs_alone_percent", "parameters", "seeds"):
            if key in row:
                flat[key] = row[key]
        rows.append(flat)
    return pd.DataFrame(rows)


def shipped(results, method="none", model=None, dtype=None):
    """The path of a student's exported file in a study's results: the first efficiency entry of
    role student with this method (and model), in ``dtype`` (default: the first exported)."""
    for entry in results.get("efficiency", []):
        if entry["role"] != "student" or entry["method"] != method:
            continue
        if model is not None and entry["model"] != model:
            continue
        for run_ in entry["runs"]:
            if "file" in run_ and (dtype is None or run_["dtype"] == dtype):
                return run_["file"]
    raise Error(f"no shipped student with method '{method}'" +
                (f" and model '{model}'" if model else "") + " in these results")
