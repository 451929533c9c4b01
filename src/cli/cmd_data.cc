// recpress data stats PATH|NAME: counts, sparsity, per-user / per-item distributions.
// Also the shared data options (format, columns, implicit conversion, de-duplication, k-core).
#include <iostream>

#include "cli/commands.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/text_reader.h"
#include "data/download.h"
#include "data/prepare.h"
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
  return data_request_to_json(a);
}

DataArgs data_args_from_json(const nlohmann::json& j) {
  return data_request_from_json(j);
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

Dataset load_data(const DataArgs& a, const GlobalOptions& g, bool clean) {
  return prepare_dataset(a, {g.data_root, !g.no_cache, g.quiet}, clean);
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
