// recpress export / recommend: ship a trained student as a .rpm file and query it through the
// LibTorch-free runtime, as a deployment would.
//   recpress export runs/student/best.pt --dtype int8 --data ml-1m -o student.rpm
//   recpress recommend student.rpm --user 42 -k 10 --exclude-seen
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "core/errors.h"
#include "core/format.h"
#include "export/rpm_export.h"
#include "runtime/mips_index.h"
#include "runtime/model.h"

namespace recpress::cli {
namespace {

struct ExportArgs {
  std::string checkpoint;
  std::string dtype = "fp32";
  std::string output = "student.rpm";
  DataArgs data;
  bool with_data = false;
};

int run_export(const ExportArgs& a, const GlobalOptions& g) {
  ExportOptions options;
  try {
    options.dtype = runtime::parse_dtype(a.dtype);
  } catch (const runtime::ModelError& e) {
    throw Error(std::string("--dtype: ") + e.what());
  }
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
}

}  // namespace recpress::cli
