// recpress data stats PATH|NAME: counts, sparsity, per-user / per-item distributions.
// Also the shared data options (format, columns, implicit conversion, de-duplication, k-core).
#include <iostream>

#include "cli/commands.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/text_reader.h"
#include "data/download.h"
#include "data/stats.h"
#include "data/transforms.h"
#include "train/checkpoint.h"

namespace recpress::cli {

std::string list_entries(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  for (const auto& [name, help] : entries) out += "\n  " + name + ": " + help;
  return out;
}

void add_data_options(CLI::App* cmd, DataArgs& a, bool positional) {
  const char* help =
      "dataset: 'synthetic[:users=N,items=M,...]', a name under the data root (ml-100k, ml-1m, "
      "ml-latest-small, ncf-ml-1m), or a file/folder";
  if (positional) {
    cmd->add_option("data", a.spec, help)->required();
  } else {
    cmd->add_option("--data", a.spec, help);
  }
  cmd->add_option("--format", a.format,
                  "force a format: ml-100k, ml-dat, ml-csv, ncf, atomic, sequence, csv");
  cmd->add_option("--columns", a.columns,
                  "csv column mapping, e.g. user=customer,item=sku,rating=stars,time=ts");
  cmd->add_option("--delimiter", a.delimiter, "csv delimiter (one character, or 'tab')");
  cmd->add_flag("--no-header", a.no_header,
                "csv file has no header row (columns are 0-based indices)");
  cmd->add_flag("--lenient", a.lenient,
                "skip malformed lines (and report how many) instead of failing");
  cmd->add_option("--threshold", a.threshold,
                  "implicit feedback: keep ratings >= this (default: keep all)");
  cmd->add_option("--dedup", a.dedup, "repeated (user, item): first, last (default) or keep")
      ->check(CLI::IsMember({"first", "last", "keep"}));
  cmd->add_option("--min-user-interactions", a.min_user,
                  "k-core: drop users with fewer interactions");
  cmd->add_option("--min-item-interactions", a.min_item,
                  "k-core: drop items with fewer interactions");
}

nlohmann::json data_args_to_json(const DataArgs& a) {
  return {{"data", a.spec},           {"format", a.format},       {"columns", a.columns},
          {"delimiter", a.delimiter}, {"no_header", a.no_header}, {"lenient", a.lenient},
          {"implicit", a.implicit},   {"threshold", a.threshold}, {"dedup", a.dedup},
          {"min_user", a.min_user},   {"min_item", a.min_item}};
}

DataArgs data_args_from_json(const nlohmann::json& j) {
  DataArgs a;
  a.spec = j.at("data");
  a.format = j.at("format");
  a.columns = j.at("columns");
  a.delimiter = j.at("delimiter");
  a.no_header = j.at("no_header");
  a.lenient = j.at("lenient");
  a.implicit = j.at("implicit");
  a.threshold = j.at("threshold");
  a.dedup = j.at("dedup");
  a.min_user = j.at("min_user");
  a.min_item = j.at("min_item");
  return a;
}

DataArgs data_args_for_checkpoint(const DataArgs& args, const std::string& checkpoint,
                                  const CLI::App& cmd) {
  for (const char* flag : {"--data", "--format", "--columns", "--threshold", "--dedup",
                           "--min-user-interactions", "--min-item-interactions"}) {
    const auto* option = cmd.get_option_no_throw(flag);
    if (option != nullptr && option->count() > 0) return args;
  }
  const Checkpoint ck = read_checkpoint(checkpoint);
  if (!ck.header.contains("data_args")) return args;  // older checkpoints: the defaults
  try {
    return data_args_from_json(ck.header.at("data_args"));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(checkpoint, 0, "data_args", std::string("malformed: ") + e.what());
  }
}

namespace {

ColumnMapping parse_columns(const DataArgs& a) {
  ColumnMapping m;
  if (a.delimiter == "tab" || a.delimiter == "\\t") {
    m.delimiter = '\t';
  } else if (a.delimiter.size() == 1) {
    m.delimiter = a.delimiter[0];
  } else {
    throw Error("--delimiter must be one character or 'tab'");
  }
  m.header = !a.no_header;
  if (a.columns.empty()) return m;
  std::vector<std::string_view> pairs;
  split_fields(a.columns, ',', pairs);
  for (auto p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string_view::npos)
      throw Error("--columns: expected role=column, got '" + std::string(p) + "'");
    const std::string role(trim(p.substr(0, eq)));
    const std::string col(trim(p.substr(eq + 1)));
    if (role == "user")
      m.user = col;
    else if (role == "item")
      m.item = col;
    else if (role == "rating")
      m.rating = col;
    else if (role == "time" || role == "timestamp")
      m.timestamp = col;
    else
      throw Error("--columns: unknown role '" + role + "' (user, item, rating, time)");
  }
  return m;
}

}  // namespace

Dataset load_data(const DataArgs& a, const GlobalOptions& g, bool clean) {
  OpenOptions o;
  o.load.format = a.format;
  o.load.lenient = a.lenient;
  o.load.columns = parse_columns(a);
  o.use_cache = !g.no_cache;
  o.data_root = g.data_root;
  LoadReport report;
  Dataset data = open_dataset(a.spec, o, report);
  data.open_arguments = data_args_to_json(a).dump();
  if (report.skipped_lines > 0) {
    std::cerr << "lenient: skipped " << with_commas(static_cast<std::int64_t>(report.skipped_lines))
              << " malformed line(s); first:\n";
    for (const auto& p : report.problems) std::cerr << "  " << p << "\n";
  }
  if (!g.quiet) {
    for (const auto& n : report.notes) std::cerr << "note: " << n << "\n";
  }
  if (!clean) return data;
  if (a.implicit) {
    const auto removed =
        to_implicit(data, a.threshold > 0 ? std::optional<double>(a.threshold) : std::nullopt);
    if (removed > 0 && !g.quiet) {
      std::cerr << "implicit: dropped " << with_commas(static_cast<std::int64_t>(removed))
                << " ratings below " << a.threshold << "\n";
    }
  }
  const auto dups = deduplicate(data, parse_dedup_policy(a.dedup));
  if (dups > 0 && !g.quiet) {
    std::cerr << "dedup (" << a.dedup << "): removed "
              << with_commas(static_cast<std::int64_t>(dups))
              << " repeated (user, item) interactions\n";
  }
  if (a.min_user > 1 || a.min_item > 1) {
    const auto removed = kcore_filter(data, a.min_user, a.min_item);
    if (!g.quiet) {
      std::cerr << "k-core (users >= " << a.min_user << ", items >= " << a.min_item << "): removed "
                << with_commas(static_cast<std::int64_t>(removed)) << " interactions\n";
    }
  }
  compact(data);
  if (data.interactions.empty()) throw Error("no interactions left after filtering");
  return data;
}

void add_data_command(CLI::App& app, GlobalOptions& global, Action& action) {
  auto* data = app.add_subcommand("data", "inspect datasets");
  data->require_subcommand(1);
  auto* stats = data->add_subcommand(
      "stats", "counts, sparsity and distributions of a dataset (as loaded, before clean-up)");
  static DataArgs args;
  add_data_options(stats, args, true);
  stats->callback([&action, &global] {
    action = [&global] {
      const Dataset d = load_data(args, global, false);
      std::cout << format_stats(compute_stats(d), d);
      return 0;
    };
  });

  static std::string name;
  static bool force = false;
  static std::string url;
  std::string names;
  for (const auto& d : downloadable_datasets()) names += (names.empty() ? "" : ", ") + d.name;
  auto* download = data->add_subcommand(
      "download",
      "fetch a MovieLens archive from GroupLens, verify its MD5, unpack it into the cache");
  download->add_option("name", name, names)->required();
  download->add_option("--url", url, "base URL of the archives (default: GroupLens)");
  download->add_flag("--force", force, "download again even if present");
  download->callback([&action, &global] {
    action = [&global] {
      DownloadOptions o;
      if (!url.empty()) o.base_url = url;
      o.force = force;
      std::uint64_t shown = 0;
      if (!global.quiet)
        o.progress = [&shown](std::uint64_t now, std::uint64_t total) {
          if (now < shown + (1u << 20) && !(total > 0 && now == total && now != shown)) return;
          shown = now;
          std::cerr << "\r  " << human_bytes(static_cast<double>(now))
                    << (total ? " of " + human_bytes(static_cast<double>(total)) : std::string())
                    << "   " << std::flush;
        };
      std::cout << "licence: " << movielens_licence() << "\n" << std::flush;
      const std::string folder = download_dataset(name, o);
      if (!global.quiet && shown > 0) std::cerr << "\n";
      std::cout << name << ": verified and unpacked in " << folder << "\n"
                << "use it by name: recpress data stats " << name << "\n";
      return 0;
    };
  });
}

}  // namespace recpress::cli
