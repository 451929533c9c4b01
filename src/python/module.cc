// The Python extension module `recpress._recpress` (issue 21), wrapped by python/recpress/:
// datasets (open by name or path as the CLI does, or from arrays), studies (a recipe file or dict
// through the same runner as `recpress run`), and shipped models (.rpm files scored by the
// LibTorch-free runtime, the GIL released while scoring). Errors are recpress.Error with the
// CLI's one-line messages; Ctrl-C stops a study as in the CLI (KeyboardInterrupt, with the last
// finished epoch saved).
#include <pybind11/iostream.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.h"
#include "data/prepare.h"
#include "data/stats.h"
#include "pipeline/catalogue.h"
#include "pipeline/recipe.h"
#include "pipeline/runner.h"
#include "runtime/ctr_model.h"
#include "runtime/model.h"
#include "runtime/next_item_model.h"
#include "sys/doctor.h"
#include "train/checkpoint.h"
#include "train/ctr_trainer.h"
#include "train/loop.h"
#include "train/seq_trainer.h"
#include "train/trainer.h"

namespace py = pybind11;

namespace recpress::python {
namespace {

// JSON text -> Python objects through the json module: exact, and no second converter to keep.
py::object from_json(const nlohmann::ordered_json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

// A Python list of str as C++ strings, with a clear error for anything else.
std::vector<std::string> strings(const py::handle& seq, const char* what) {
  std::vector<std::string> out;
  for (const auto& x : seq) {
    if (!py::isinstance<py::str>(x))
      throw Error(std::string(what) + ": expected str ids, got " +
                  std::string(py::str(py::type::of(x).attr("__name__"))));
    out.push_back(x.cast<std::string>());
  }
  return out;
}

// ---------------------------------------------------------------- datasets

class PyDataset {
 public:
  explicit PyDataset(Dataset d) : data_(std::make_shared<Dataset>(std::move(d))) {}
  const Dataset& data() const { return *data_; }
  std::shared_ptr<const Dataset> shared() const { return data_; }

 private:
  std::shared_ptr<Dataset> data_;
};

PyDataset load_dataset(const std::string& source, const std::string& format,
                       const std::string& columns, const std::string& delimiter, bool no_header,
                       bool lenient, bool implicit, double threshold, const std::string& dedup,
                       int min_user, int min_item, const std::string& data_root, bool use_cache,
                       bool quiet) {
  DataRequest r;
  r.spec = source;
  r.format = format;
  r.columns = columns;
  r.delimiter = delimiter;
  r.no_header = no_header;
  r.lenient = lenient;
  r.implicit = implicit;
  r.threshold = threshold;
  r.dedup = dedup;
  r.min_user = min_user;
  r.min_item = min_item;
  py::gil_scoped_release release;
  return PyDataset(prepare_dataset(r, {data_root, use_cache, quiet}));
}

// Interactions from parallel arrays of raw ids (str or int), optional ratings and times: ids are
// interned in order of first appearance, as the file loaders do.
PyDataset dataset_from_arrays(const py::sequence& users, const py::sequence& items,
                              const py::object& ratings, const py::object& times,
                              const std::string& name) {
  const auto n = py::len(users);
  if (py::len(items) != n)
    throw Error("from_arrays: " + std::to_string(n) + " users but " +
                std::to_string(py::len(items)) + " items");
  Dataset d;
  d.name = name;
  d.source = "python arrays";
  std::vector<double> r, t;
  if (!ratings.is_none()) {
    r = ratings.cast<std::vector<double>>();
    if (r.size() != n)
      throw Error("from_arrays: ratings has " + std::to_string(r.size()) + " values for " +
                  std::to_string(n) + " interactions");
    d.has_ratings = true;
  }
  if (!times.is_none()) {
    t = times.cast<std::vector<double>>();
    if (t.size() != n)
      throw Error("from_arrays: times has " + std::to_string(t.size()) + " values for " +
                  std::to_string(n) + " interactions");
    d.has_timestamps = true;
  }
  const auto id_text = [](const py::handle& x, const char* what, std::size_t k) {
    if (py::isinstance<py::str>(x)) return x.cast<std::string>();
    if (py::isinstance<py::int_>(x) || py::hasattr(x, "__index__"))
      return std::to_string(x.cast<long long>());
    throw Error(std::string("from_arrays: ") + what + "[" + std::to_string(k) +
                "] is neither a str nor an int");
  };
  for (std::size_t k = 0; k < n; ++k) {
    Interaction x;
    x.user = d.users.intern(id_text(users[k], "users", k));
    x.item = d.items.intern(id_text(items[k], "items", k));
    if (!r.empty()) x.rating = static_cast<float>(r[k]);
    x.timestamp = t.empty() ? static_cast<std::int64_t>(k) : static_cast<std::int64_t>(t[k]);
    d.interactions.push_back(x);
  }
  if (d.interactions.empty()) throw Error("from_arrays: no interactions");
  return PyDataset(std::move(d));
}

py::dict dataset_stats(const PyDataset& p) {
  const DatasetStats s = compute_stats(p.data());
  const auto dist = [](const Distribution& x) {
    py::dict d;
    d["min"] = x.min;
    d["p25"] = x.p25;
    d["median"] = x.median;
    d["mean"] = x.mean;
    d["p75"] = x.p75;
    d["p90"] = x.p90;
    d["max"] = x.max;
    return d;
  };
  py::dict out;
  out["name"] = s.name;
  out["interactions"] = s.interactions;
  out["users"] = s.users;
  out["items"] = s.items;
  out["duplicate_pairs"] = s.duplicate_pairs;
  out["density"] = s.density;
  out["per_user"] = dist(s.per_user);
  out["per_item"] = dist(s.per_item);
  out["checksum"] = s.checksum;
  return out;
}

// Columns as numpy arrays: user and item indices (int32), rating (float32), timestamp (int64).
py::dict dataset_arrays(const PyDataset& p) {
  const auto& d = p.data();
  const auto n = static_cast<py::ssize_t>(d.size());
  py::array_t<std::int32_t> users(n), items(n);
  py::array_t<float> ratings(n);
  py::array_t<std::int64_t> times(n);
  auto u = users.mutable_unchecked<1>();
  auto i = items.mutable_unchecked<1>();
  auto r = ratings.mutable_unchecked<1>();
  auto t = times.mutable_unchecked<1>();
  for (py::ssize_t k = 0; k < n; ++k) {
    const auto& x = d.interactions[static_cast<std::size_t>(k)];
    u(k) = x.user;
    i(k) = x.item;
    r(k) = x.rating;
    t(k) = x.timestamp;
  }
  py::dict out;
  out["user"] = users;
  out["item"] = items;
  out["rating"] = ratings;
  out["timestamp"] = times;
  return out;
}

// ---------------------------------------------------------------- studies

// Runs a recipe (YAML text; a dict arrives as JSON, which is YAML) on `data` or on the recipe's
// own `data`. SIGINT stops training as in the CLI; the handler Python had is put back after.
py::object run_recipe_text(const std::string& text, const std::string& origin, bool is_file,
                           const std::string& output, const std::vector<std::int64_t>& seeds,
                           const py::object& data, const std::string& data_root, bool use_cache,
                           bool quiet) {
  pipeline::Recipe recipe =
      is_file ? pipeline::Recipe::parse_file(origin) : pipeline::Recipe::parse_text(text, origin);
  if (!seeds.empty()) recipe.seeds = seeds;
  std::shared_ptr<const Dataset> dataset;
  if (!data.is_none()) {
    if (recipe.task == "ctr") throw Error("run: a CTR study opens its own table; pass data=None");
    dataset = data.cast<const PyDataset&>().shared();
  }
  nlohmann::ordered_json results;
  {
    py::scoped_ostream_redirect out(std::cout, py::module_::import("sys").attr("stdout"));
    py::scoped_estream_redirect err(std::cerr, py::module_::import("sys").attr("stderr"));
    const auto previous = std::signal(SIGINT, SIG_DFL);
    stop_training_on_interrupt();
    try {
      py::gil_scoped_release release;
      if (dataset) {
        pipeline::RunOptions o;
        o.output_root = output;
        o.quiet = quiet;
        results = pipeline::run_study(recipe, *dataset, o);
      } else {
        results = pipeline::run_recipe(recipe, {output, data_root, use_cache, quiet});
      }
    } catch (...) {
      std::signal(SIGINT, previous);
      throw;
    }
    std::signal(SIGINT, previous);
  }
  return from_json(results);
}

// ---------------------------------------------------------------- shipped models

template <typename Lists>
py::tuple ranked_arrays(const Lists& lists, std::size_t k,
                        const std::function<std::string(std::uint32_t)>& id_of) {
  const auto n = static_cast<py::ssize_t>(lists.size());
  py::array_t<float> scores({n, static_cast<py::ssize_t>(k)});
  auto s = scores.mutable_unchecked<2>();
  py::list rows;
  for (py::ssize_t r = 0; r < n; ++r) {
    py::list row;
    const auto& list = lists[static_cast<std::size_t>(r)];
    for (std::size_t c = 0; c < k; ++c) {
      if (c < list.size()) {
        row.append(py::str(id_of(list[c].first)));
        s(r, static_cast<py::ssize_t>(c)) = list[c].second;
      } else {
        row.append(py::none());
        s(r, static_cast<py::ssize_t>(c)) = std::numeric_limits<float>::quiet_NaN();
      }
    }
    rows.append(row);
  }
  // ids: an object array of str (None past the end of a short list).
  py::array ids = py::module_::import("numpy").attr("array")(rows, py::arg("dtype") = "object");
  return py::make_tuple(ids.reshape({n, static_cast<py::ssize_t>(k)}), scores);
}

// One ranked list per query, computed with the GIL released (the runtime is thread-safe and
// touches no Python object).
template <typename Query, typename Rank>
std::vector<std::vector<std::pair<std::uint32_t, float>>> ranked_without_gil(
    const std::vector<Query>& queries, const Rank& rank) {
  std::vector<std::vector<std::pair<std::uint32_t, float>>> lists(queries.size());
  py::gil_scoped_release release;
  for (std::size_t r = 0; r < queries.size(); ++r) lists[r] = rank(queries[r]);
  return lists;
}

void check_k(std::size_t k) {
  if (k < 1 || k > 10000) throw Error("k must be in [1, 10000], got " + std::to_string(k));
}

class PyTopN {
 public:
  explicit PyTopN(const std::string& path) : m_(runtime::Model::open(path)) {}
  py::tuple recommend(const py::object& users, std::size_t k, bool exclude_seen) const {
    check_k(k);
    std::vector<std::uint32_t> index;
    for (const auto& id : strings(users, "recommend")) {
      const auto u = m_.user_index(id);
      if (!u) throw Error("recommend: unknown user id '" + id + "'");
      index.push_back(*u);
    }
    const auto lists = ranked_without_gil(
        index, [&](std::uint32_t u) { return m_.recommend(u, k, exclude_seen); });
    return ranked_arrays(lists, k, [&](std::uint32_t i) { return std::string(m_.item_id(i)); });
  }
  const runtime::Model& model() const { return m_; }

 private:
  runtime::Model m_;
};

class PyNextItem {
 public:
  explicit PyNextItem(const std::string& path) : m_(runtime::NextItemModel::open(path)) {}
  py::tuple next(const py::object& histories, std::size_t k, bool exclude_history) const {
    check_k(k);
    std::vector<std::vector<std::uint32_t>> resolved;
    std::vector<std::string> unknown;
    for (const auto& h : histories) {
      const auto ids = strings(h, "next");
      std::vector<std::string_view> views(ids.begin(), ids.end());
      auto& out = resolved.emplace_back();
      m_.resolve_history(views, out, unknown);
      if (out.empty())
        throw Error("next: history " + std::to_string(resolved.size()) +
                    " has no item the model knows");
    }
    const auto lists = ranked_without_gil(resolved, [&](const std::vector<std::uint32_t>& h) {
      return m_.next(h, k, exclude_history);
    });
    return ranked_arrays(lists, k, [&](std::uint32_t i) { return std::string(m_.item_id(i)); });
  }
  const runtime::NextItemModel& model() const { return m_; }

 private:
  runtime::NextItemModel m_;
};

class PyCtr {
 public:
  explicit PyCtr(const std::string& path) : m_(runtime::CtrModel::open(path)) {}
  // Click probabilities of rows given as dicts {input name: value}; a missing key is a missing
  // value (the encoder's OOV), a list is a multi-valued field.
  py::array_t<float> predict(const py::list& rows) const {
    const auto& inputs = m_.features().inputs();
    py::array_t<float> out(static_cast<py::ssize_t>(rows.size()));
    auto o = out.mutable_unchecked<1>();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (!py::isinstance<py::dict>(rows[r]))
        throw Error("predict: row " + std::to_string(r) + " is not a dict");
      const auto row = rows[r].cast<py::dict>();
      std::vector<std::string> texts;
      std::vector<std::vector<std::string>> lists(inputs.size());
      std::vector<std::vector<std::string_view>> list_views(inputs.size());
      texts.reserve(inputs.size());
      std::vector<runtime::RawValue> values(inputs.size());
      for (std::size_t f = 0; f < inputs.size(); ++f) {
        const auto& name = inputs[f].name;
        texts.emplace_back();
        if (!row.contains(name)) continue;
        const py::object v = row[py::str(name)];
        if (v.is_none()) continue;
        if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
          for (const auto& x : v) lists[f].push_back(py::str(x).cast<std::string>());
          for (const auto& x : lists[f]) list_views[f].push_back(x);
          values[f] = runtime::RawValue::of_texts(list_views[f]);
        } else if (py::isinstance<py::float_>(v) || py::isinstance<py::int_>(v)) {
          values[f] = inputs[f].kind == runtime::InputKind::kNumeric
                          ? runtime::RawValue::of_number(v.cast<double>())
                          : runtime::RawValue::of_text(texts[f] = py::str(v).cast<std::string>());
        } else {
          values[f] = runtime::RawValue::of_text(texts[f] = py::str(v).cast<std::string>());
        }
      }
      try {
        o(static_cast<py::ssize_t>(r)) = m_.predict(values);
      } catch (const runtime::FeatureError& e) {
        throw Error("predict: row " + std::to_string(r) + ": " + e.what());
      }
    }
    return out;
  }
  std::vector<std::string> inputs() const {
    std::vector<std::string> names;
    for (const auto& i : m_.features().inputs()) names.push_back(i.name);
    return names;
  }
  const runtime::CtrModel& model() const { return m_; }

 private:
  runtime::CtrModel m_;
};

// ---------------------------------------------------------------- checkpoints

// A trained checkpoint (best.pt / last.pt of any task): its header (task, model, data, config,
// metrics) and every parameter as a float32 numpy array, copied out of LibTorch.
py::dict checkpoint_contents(const std::string& path) {
  const Checkpoint ck = read_checkpoint(path);
  const std::string task = ck.header.value("task", "topn");
  std::shared_ptr<torch::nn::Module> model;
  if (task == "ctr")
    model = load_ctr_checkpoint(path).model;
  else if (task == "seq")
    model = load_seq_checkpoint(path);
  else
    model = load_topn_checkpoint(path);
  py::dict parameters;
  for (const auto& p : model->named_parameters()) {
    const auto t = p.value().detach().to(torch::kFloat).contiguous();
    std::vector<py::ssize_t> shape(t.sizes().begin(), t.sizes().end());
    py::array_t<float> a(shape);
    std::memcpy(a.mutable_data(), t.data_ptr<float>(), static_cast<std::size_t>(t.numel()) * 4);
    parameters[py::str(p.key())] = a;
  }
  py::dict out;
  out["header"] = from_json(nlohmann::ordered_json::parse(ck.header.dump()));
  out["parameters"] = parameters;
  return out;
}

py::object load_model(const std::string& path) {
  const std::string task = runtime::model_file_task(path);
  if (task == "seq") return py::cast(PyNextItem(path));
  if (task == "ctr") return py::cast(PyCtr(path));
  return py::cast(PyTopN(path));
}

template <typename Class, typename Wrapper>
void common_model_properties(Class& c) {
  c.def_property_readonly("source_model", [](const Wrapper& w) { return w.model().source_model(); })
      .def_property_readonly("file_bytes", [](const Wrapper& w) { return w.model().file_bytes(); })
      .def_property_readonly("parameter_count",
                             [](const Wrapper& w) { return w.model().parameter_count(); })
      .def_property_readonly(
          "dtype", [](const Wrapper& w) { return runtime::dtype_name(w.model().dtype()); })
      .def_property_readonly("metadata", [](const Wrapper& w) {
        return py::module_::import("json").attr("loads")(w.model().metadata());
      });
}

}  // namespace
}  // namespace recpress::python

PYBIND11_MODULE(_recpress, m) {
  using namespace recpress;
  using namespace recpress::python;
  using namespace pybind11::literals;
  m.doc() = "RecPress: distil recommenders into small, fast students (C++ core)";
  static py::exception<Error> error(m, "Error");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const TrainingInterrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const Error& e) {
      error(e.what());
    } catch (const runtime::ModelError& e) {
      error(e.what());
    }
  });
  m.attr("__version__") = software_versions().recpress;

  py::class_<PyDataset>(m, "Dataset", "Interactions (user, item[, rating, time]) in memory")
      .def_static("load", &load_dataset, "source"_a, "format"_a = "", "columns"_a = "",
                  "delimiter"_a = ",", "no_header"_a = false, "lenient"_a = false,
                  "implicit"_a = true, "threshold"_a = 0.0, "dedup"_a = "last", "min_user"_a = 0,
                  "min_item"_a = 0, "data_root"_a = "", "use_cache"_a = true, "quiet"_a = true,
                  "Open by name (ml-100k, ml-1m, synthetic:users=...) or path and clean it as "
                  "`recpress --data` does")
      .def_static("from_arrays", &dataset_from_arrays, "users"_a, "items"_a,
                  "ratings"_a = py::none(), "times"_a = py::none(), "name"_a = "arrays",
                  "Interactions from parallel sequences of raw ids (str or int)")
      .def_property_readonly("name", [](const PyDataset& d) { return d.data().name; })
      .def_property_readonly("num_users", [](const PyDataset& d) { return d.data().num_users(); })
      .def_property_readonly("num_items", [](const PyDataset& d) { return d.data().num_items(); })
      .def_property_readonly("checksum", [](const PyDataset& d) { return d.data().checksum(); })
      .def("__len__", [](const PyDataset& d) { return d.data().size(); })
      .def("stats", &dataset_stats, "Counts, density and per-user / per-item distributions")
      .def("arrays", &dataset_arrays,
           "Columns as numpy arrays: user, item (0-based indices), rating, timestamp")
      .def("user_ids", [](const PyDataset& d) { return d.data().users.raw_ids(); })
      .def("item_ids", [](const PyDataset& d) { return d.data().items.raw_ids(); })
      .def("__repr__", [](const PyDataset& d) {
        return "<recpress.Dataset " + d.data().name + ": " + std::to_string(d.data().size()) +
               " interactions, " + std::to_string(d.data().num_users()) + " users, " +
               std::to_string(d.data().num_items()) + " items>";
      });

  m.def("_run_recipe", &run_recipe_text, "text"_a, "origin"_a, "is_file"_a, "output"_a, "seeds"_a,
        "data"_a, "data_root"_a, "use_cache"_a, "quiet"_a);
  m.def(
      "catalogue", [] { return pipeline::catalogue_reference(); },
      "Every model and method with its parameters (Markdown)");
  m.def(
      "recipe_reference", [] { return pipeline::recipe_reference(); },
      "Every recipe key (Markdown)");

  auto topn = py::class_<PyTopN>(m, "TopNModel", "A shipped top-N model (.rpm)");
  topn.def("recommend", &PyTopN::recommend, "users"_a, "k"_a = 10, "exclude_seen"_a = true,
           "The k best items of each user: (ids [n, k] object array, scores [n, k] float32)")
      .def_property_readonly("num_users", [](const PyTopN& w) { return w.model().num_users(); })
      .def_property_readonly("num_items", [](const PyTopN& w) { return w.model().num_items(); });
  common_model_properties<decltype(topn), PyTopN>(topn);
  auto next = py::class_<PyNextItem>(m, "NextItemModel", "A shipped next-item model (.rpm)");
  next.def("next", &PyNextItem::next, "histories"_a, "k"_a = 10, "exclude_history"_a = false,
           "The k most likely next items after each history (raw ids, oldest first; unknown ids "
           "are skipped)")
      .def_property_readonly("num_items",
                             [](const PyNextItem& w) { return w.model().num_items(); });
  common_model_properties<decltype(next), PyNextItem>(next);
  auto ctr = py::class_<PyCtr>(m, "CtrModel", "A shipped CTR model (.rpm)");
  ctr.def("predict", &PyCtr::predict, "rows"_a,
          "Click probabilities of rows given as dicts {input: value}")
      .def_property_readonly("inputs", &PyCtr::inputs);
  common_model_properties<decltype(ctr), PyCtr>(ctr);
  m.def("_checkpoint", &checkpoint_contents, "path"_a);
  m.def("load", &load_model, "path"_a,
        "Open a shipped model file: a TopNModel, NextItemModel or CtrModel by its task");
}
