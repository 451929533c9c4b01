// recpress export / recommend / predict: ship a trained student as a .rpm file and query it
// through the LibTorch-free runtime, as a deployment would.
//   recpress export runs/student/best.pt --dtype int8 --data ml-1m -o student.rpm
//   recpress recommend student.rpm --user 42 -k 10 --exclude-seen        (top-N)
//   recpress predict ctr-student.rpm --rows rows.jsonl                    (CTR)
//   recpress next seq-student.rpm --history 12,7,99 -k 10                 (next item)
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/text_reader.h"
#include "export/ctr_export.h"
#include "export/rpm_export.h"
#include "export/seq_export.h"
#include "runtime/ctr_model.h"
#include "runtime/mips_index.h"
#include "runtime/model.h"
#include "runtime/next_item_model.h"
#include "serve/ctr_rows.h"
#include "train/checkpoint.h"

namespace recpress::cli {
namespace {

struct ExportArgs {
  std::string checkpoint;
  std::string dtype = "fp32";
  std::string output = "student.rpm";
  DataArgs data;
  bool with_data = false;
};

// The parts of a CTR file in words: "linear + FM + deep 64-32".
std::string ctr_parts(const runtime::CtrModel& m) {
  std::string parts;
  const auto add = [&](const std::string& p) { parts += (parts.empty() ? "" : " + ") + p; };
  if (m.has_linear()) add("linear");
  if (m.has_fm()) add("FM");
  if (m.has_deep()) add("deep");
  return parts;
}

int export_ctr(const ExportArgs& a, runtime::DType dtype) {
  if (a.with_data)
    throw Error("--data: a CTR model file carries its feature encoder; export it without --data");
  const std::size_t bytes = export_ctr_model(a.checkpoint, a.output, dtype);
  const runtime::CtrModel m = runtime::CtrModel::open(a.output);  // prove it loads
  const auto& f = m.features();
  std::cout << "wrote " << a.output << ": CTR " << m.source_model() << ", "
            << runtime::dtype_name(m.dtype()) << ", " << f.inputs().size() << " input fields ("
            << with_commas(f.vocab_size()) << " ids), " << ctr_parts(m) << ", dim " << m.dim()
            << ", " << with_commas(static_cast<std::int64_t>(m.parameter_count()))
            << " parameters, " << with_commas(static_cast<std::int64_t>(m.flops_per_row()))
            << " FLOPs/row, " << human_bytes(static_cast<double>(bytes)) << "\n";
  return 0;
}

int export_next_item(const ExportArgs& a, runtime::DType dtype) {
  if (a.with_data)
    throw Error("--data: a next-item model file carries its item ids; export it without --data");
  const std::size_t bytes = export_seq_model(a.checkpoint, a.output, dtype);
  const auto m = runtime::NextItemModel::open(a.output);  // prove it loads
  std::cout << "wrote " << a.output << ": next item " << m.source_model() << ", "
            << runtime::dtype_name(m.dtype()) << ", " << with_commas(m.num_items())
            << " items, hidden " << m.hidden() << ", " << m.layers() << " block(s) x " << m.heads()
            << " head(s), histories of " << m.history_length() << ", "
            << with_commas(static_cast<std::int64_t>(m.parameter_count())) << " parameters, "
            << human_bytes(static_cast<double>(bytes)) << "\n";
  return 0;
}

int run_export(const ExportArgs& a, const GlobalOptions& g) {
  ExportOptions options;
  try {
    options.dtype = runtime::parse_dtype(a.dtype);
  } catch (const runtime::ModelError& e) {
    throw Error(std::string("--dtype: ") + e.what());
  }
  const std::string task = read_checkpoint(a.checkpoint).header.value("task", "topn");
  if (task == "ctr") return export_ctr(a, options.dtype);
  if (task == "seq") return export_next_item(a, options.dtype);
  if (task != "topn")
    throw Error(a.checkpoint + ": a '" + task + "' checkpoint (top-N, CTR or next-item expected)");
  Dataset data;
  if (a.with_data) {
    data = load_data(a.data, g);
    options.seen_from = &data;
  }
  const std::size_t bytes = export_model(a.checkpoint, a.output, options);
  const runtime::Model m = runtime::Model::open(a.output);  // prove it loads
  std::cout << "wrote " << a.output << ": " << m.source_model() << ", "
            << runtime::dtype_name(m.dtype()) << ", " << with_commas(m.num_users()) << " users x "
            << with_commas(m.num_items()) << " items, dim " << m.dim()
            << (m.has_tower() ? " + MLP tower" : "") << ", "
            << with_commas(static_cast<std::int64_t>(m.parameter_count())) << " parameters, "
            << with_commas(static_cast<std::int64_t>(m.flops_per_item())) << " FLOPs/item, "
            << human_bytes(static_cast<double>(bytes)) << (m.has_seen() ? ", with seen items" : "")
            << "\n";
  return 0;
}

struct RecommendArgs {
  std::string model;
  std::vector<std::string> users;
  std::size_t k = 10;
  bool exclude_seen = false;
  std::string index;  // "" = exact
};

int run_recommend(const RecommendArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  runtime::Model m;
  try {
    m = runtime::Model::open(a.model);
  } catch (const runtime::ModelError& e) {
    throw Error(e.what());
  }
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::unique_ptr<runtime::MipsIndex> index;
  if (!a.index.empty()) {
    try {
      index = std::make_unique<runtime::MipsIndex>(m, runtime::MipsOptions::parse(a.index));
    } catch (const runtime::ModelError& e) {
      throw Error(std::string("--index: ") + e.what());
    }
    std::cerr << "index " << a.index << " built in " << fixed(index->build_seconds() * 1e3, 1)
              << " ms\n";
  }
  if (a.k == 0 || a.k > m.num_items())
    throw Error("-k must be in [1, " + std::to_string(m.num_items()) + "]");
  for (const auto& raw : a.users) {
    const auto u = m.user_index(raw);
    if (!u) throw Error("unknown user '" + raw + "' (not in " + a.model + ")");
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<std::pair<std::uint32_t, float>> top;
    try {
      top =
          index ? index->recommend(*u, a.k, a.exclude_seen) : m.recommend(*u, a.k, a.exclude_seen);
    } catch (const runtime::ModelError& e) {
      throw Error(e.what());
    }
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t1).count();
    std::cout << "user " << raw << " (" << fixed(us, 1) << " us):\n";
    int rank = 0;
    for (const auto& [item, score] : top)
      std::cout << "  " << ++rank << "\t" << m.item_id(item) << "\t" << fixed(score, 4) << "\n";
  }
  std::cerr << "model " << a.model << " loaded in " << fixed(load_ms, 2) << " ms\n";
  return 0;
}

struct PredictArgs {
  std::string model;
  std::string rows;              // a .jsonl / .json / .csv file, or - (JSON lines on stdin)
  std::vector<std::string> row;  // rows given inline as JSON objects
  bool show_oov = false;
};

// Rows from a file: JSON lines (one object per line), a JSON array of objects, or a CSV file whose
// header names the fields (multi-hot cells split on '|', empty cells missing). Errors name the
// file, the line and the field.
serve::EncodedRows read_rows(const runtime::FeatureEncoder& features, const std::string& path) {
  serve::EncodedRows out;
  const auto where = [&](std::size_t line) { return path + ":" + std::to_string(line) + ": "; };
  if (path.ends_with(".json")) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open");
    nlohmann::json rows;
    try {
      rows = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + ": malformed JSON: " + e.what());
    }
    if (!rows.is_array()) throw Error(path + ": expected a JSON array of rows");
    for (std::size_t r = 0; r < rows.size(); ++r) {
      try {
        serve::append_json_row(features, rows[r], out);
      } catch (const serve::RowError& e) {
        throw Error(path + ": row " + std::to_string(r) + ": " + e.what());
      }
    }
    return out;
  }
  const bool csv = path.ends_with(".csv") || path.ends_with(".csv.gz");
  TextReader reader(path == "-" ? "/dev/stdin" : path);
  std::string_view line;
  std::vector<int> columns;
  std::vector<std::string_view> cells;
  if (csv) {
    if (!reader.next_line(line)) throw Error(path + ": empty file (a CSV header is expected)");
    split_fields(line, ',', cells);
    for (const auto cell : cells) {
      const std::string name(trim(cell));
      const int input = features.input_index(name);
      if (input < 0)
        throw Error(where(1) + "unknown field '" + name + "' (the model reads " +
                    serve::describe_inputs(features) + ")");
      columns.push_back(input);
    }
  }
  while (reader.next_line(line)) {
    if (trim(line).empty()) continue;
    try {
      if (csv) {
        split_fields(line, ',', cells);
        if (cells.size() != columns.size())
          throw serve::RowError(std::to_string(cells.size()) + " cells, the header has " +
                                std::to_string(columns.size()));
        serve::append_text_row(features, columns, cells, out);
      } else {
        nlohmann::json row;
        try {
          row = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          throw serve::RowError(std::string("malformed JSON: ") + e.what());
        }
        serve::append_json_row(features, row, out);
      }
    } catch (const serve::RowError& e) {
      throw Error(where(reader.line_number()) + e.what());
    }
  }
  return out;
}

int run_predict(const PredictArgs& a) {
  runtime::CtrModel m;
  try {
    m = runtime::CtrModel::open(a.model);
  } catch (const runtime::ModelError& e) {
    throw Error(e.what());
  }
  if (a.rows.empty() == a.row.empty())
    throw Error("give the rows with --rows FILE or --row JSON (one of them)");
  serve::EncodedRows rows;
  if (!a.rows.empty()) {
    rows = read_rows(m.features(), a.rows);
  } else {
    for (std::size_t r = 0; r < a.row.size(); ++r) {
      try {
        serve::append_json_row(m.features(), nlohmann::json::parse(a.row[r]), rows);
      } catch (const nlohmann::json::exception& e) {
        throw Error("--row " + std::to_string(r + 1) + ": malformed JSON: " + e.what());
      } catch (const serve::RowError& e) {
        throw Error("--row " + std::to_string(r + 1) + ": " + e.what());
      }
    }
  }
  if (rows.rows == 0) throw Error(a.rows + ": no rows");
  std::vector<float> p(rows.rows);
  const auto t0 = std::chrono::steady_clock::now();
  m.predict(rows.ids.data(), rows.values.data(), rows.rows, p.data());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t with_oov = 0;
  for (std::size_t r = 0; r < rows.rows; ++r) {
    std::cout << fixed(p[r], 6);
    if (a.show_oov && !rows.oov[r].empty()) {
      std::cout << "\toov:";
      for (std::size_t k = 0; k < rows.oov[r].size(); ++k)
        std::cout << (k ? "," : "") << rows.oov[r][k];
    }
    std::cout << "\n";
    with_oov += rows.oov[r].empty() ? 0 : 1;
  }
  std::cerr << with_commas(static_cast<std::int64_t>(rows.rows)) << " rows scored in "
            << fixed(s * 1e3, 2) << " ms (" << m.source_model() << ", "
            << runtime::dtype_name(m.dtype()) << "); " << with_oov
            << " with values unseen in training (scored as the field's OOV bucket"
            << (a.show_oov ? ")" : "; --show-oov names them)") << "\n";
  return 0;
}

struct NextArgs {
  std::string model;
  std::string history;  // raw item ids, comma-separated, oldest first
  std::size_t k = 10;
  bool exclude_history = false;
};

int run_next(const NextArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  runtime::NextItemModel m;
  try {
    m = runtime::NextItemModel::open(a.model);
  } catch (const runtime::ModelError& e) {
    throw Error(e.what());
  }
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::string_view> raw;
  split_fields(a.history, ',', raw);
  for (auto& id : raw) id = trim(id);
  std::erase_if(raw, [](std::string_view id) { return id.empty(); });
  if (raw.empty()) throw Error("--history: give one or more item ids, oldest first (12,7,99)");
  std::vector<std::uint32_t> history;
  std::vector<std::string> unknown;
  m.resolve_history(raw, history, unknown);
  if (history.empty())
    throw Error("--history: none of the " + std::to_string(raw.size()) + " items is in " + a.model +
                " (first: '" + unknown.front() + "')");
  if (a.k == 0 || a.k > m.num_items())
    throw Error("-k must be in [1, " + std::to_string(m.num_items()) + "]");
  const auto t1 = std::chrono::steady_clock::now();
  const auto top = m.next(history, a.k, a.exclude_history);
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t1).count();
  std::cout << "after " << history.size() << " item(s) (" << fixed(us, 1) << " us):\n";
  int rank = 0;
  for (const auto& [item, score] : top)
    std::cout << "  " << ++rank << "\t" << m.item_id(item) << "\t" << fixed(score, 4) << "\n";
  if (!unknown.empty()) {
    std::cerr << "skipped " << unknown.size() << " item(s) the model does not know:";
    for (const auto& id : unknown) std::cerr << " " << id;
    std::cerr << "\n";
  }
  std::cerr << "model " << a.model << " loaded in " << fixed(load_ms, 2) << " ms\n";
  return 0;
}

}  // namespace

void add_export_commands(CLI::App& app, GlobalOptions& global, Action& action) {
  static ExportArgs e;
  auto* ex = app.add_subcommand("export", "write a trained model as a .rpm file for the runtime");
  ex->add_option("checkpoint", e.checkpoint, "the model's checkpoint (run/best.pt)")->required();
  ex->add_option("--dtype", e.dtype, "fp32, fp16 or int8 (symmetric per-row scales)");
  ex->add_option("-o,--output", e.output, "the .rpm file to write (atomically)");
  add_data_options(ex, e.data, false);
  ex->callback([&action, &global, ex] {
    e.with_data = ex->get_option("--data")->count() > 0;
    action = [&global] { return run_export(e, global); };
  });

  static RecommendArgs r;
  auto* rc = app.add_subcommand("recommend", "top-K items for users from a .rpm file");
  rc->add_option("model", r.model, "the .rpm file")->required();
  rc->add_option("--user", r.users, "raw user id (repeatable)")->required();
  rc->add_option("-k", r.k, "how many items");
  rc->add_flag("--exclude-seen", r.exclude_seen,
               "skip items the user already has (the file must be exported with --data)");
  rc->add_option("--index", r.index,
                 "approximate search with an inner-product index (mf/gmf): "
                 "hnsw[:m=16,ef=64,ef_construction=200]; default exact");
  rc->callback([&action] { action = [] { return run_recommend(r); }; });

  static PredictArgs p;
  auto* pr = app.add_subcommand("predict",
                                "click probabilities for rows of field values from a "
                                "CTR .rpm file");
  pr->add_option("model", p.model, "the CTR .rpm file")->required();
  pr->add_option("--rows", p.rows,
                 "rows: .jsonl (one JSON object per line; - for stdin), .json (an array) or .csv "
                 "(a header of field names; multi-hot cells a|b|c; empty = missing)");
  pr->add_option("--row", p.row,
                 "one row as a JSON object (repeatable), e.g. "
                 "'{\"user\": \"42\", \"genres\": [\"Comedy\"]}'");
  pr->add_flag("--show-oov", p.show_oov, "name the fields whose value training never saw");
  pr->callback([&action] { action = [] { return run_predict(p); }; });

  static NextArgs n;
  auto* nx =
      app.add_subcommand("next", "the next items after a history from a next-item .rpm file");
  nx->add_option("model", n.model, "the next-item .rpm file")->required();
  nx->add_option("--history", n.history,
                 "raw item ids, oldest first: 12,7,99 (the latest "
                 "max_len are used; unknown ones are skipped)")
      ->required();
  nx->add_option("-k", n.k, "how many items");
  nx->add_flag("--exclude-history", n.exclude_history, "never return an item of the history");
  nx->callback([&action] { action = [] { return run_next(n); }; });
}

}  // namespace recpress::cli
