// recpress evaluate: score a model on a split under a protocol. For now the models are the
// baselines (popularity); trained checkpoints arrive with the training issue.
#include <iostream>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/text_reader.h"
#include "data/split.h"
#include "eval/evaluator.h"
#include "eval/popularity.h"
#include "eval/result.h"
#include "models/topn/scorer.h"
#include "train/trainer.h"

namespace recpress::cli {
namespace {

struct EvaluateArgs {
  DataArgs data;
  std::string model = "popularity";
  std::string split = "loo";
  std::string protocol = "sampled:uniform:99";
  std::string metrics = "hr@5,10 ndcg@5,10 mrr@10 map@10";
  std::string target = "test";
  std::string candidates;  // save to / reuse from
  std::string output;
};

int run_evaluate(EvaluateArgs a, const GlobalOptions& g, const CLI::App& cmd) {
  // Check every option before loading data, so a typo fails in milliseconds.
  const bool is_checkpoint = a.model != "popularity";
  if (is_checkpoint && !file_exists(a.model)) {
    throw Error("--model must be 'popularity' or a checkpoint file (run/best.pt); '" + a.model +
                "' is neither");
  }
  if (is_checkpoint) a.data = data_args_for_checkpoint(a.data, a.model, cmd);
  const SplitConfig split_config = SplitConfig::parse(a.split, g.seed);
  const auto metrics = parse_metrics(a.metrics);
  const EvalTarget target = a.target == "valid" ? EvalTarget::kValid : EvalTarget::kTest;
  const Protocol protocol = Protocol::parse(a.protocol);
  const Dataset data = load_data(a.data, g);
  const Split split = make_split(data, split_config);
  std::unique_ptr<Evaluator> evaluator;
  if (!a.candidates.empty() && protocol.kind == Protocol::Kind::kSampled &&
      file_exists(a.candidates)) {
    CandidateSet set = load_candidates(a.candidates, data);
    if (set.protocol != protocol.to_string() || set.seed != g.seed) {
      throw Error("--candidates " + a.candidates + " holds " + set.protocol + " seed " +
                  std::to_string(set.seed) + ", not " + protocol.to_string() + " seed " +
                  std::to_string(g.seed));
    }
    evaluator = std::make_unique<Evaluator>(data, split, target, std::move(set), metrics);
  } else {
    evaluator = std::make_unique<Evaluator>(data, split, target, protocol, metrics, g.seed);
    if (!a.candidates.empty() && protocol.kind == Protocol::Kind::kSampled) {
      save_candidates(evaluator->candidates(), data, a.candidates);
    }
  }
  std::unique_ptr<Scorer> model;
  if (is_checkpoint) {
    model = std::make_unique<TopNScorer>(load_topn_checkpoint(a.model, &data));
  } else {
    model = std::make_unique<PopularityScorer>(split.train, data.num_items());
  }
  const EvalResult result = evaluator->evaluate(*model);
  std::cout << results_table({result});
  std::cout << "(" << result.users << " users, protocol " << result.protocol << ", split "
            << result.split << ", " << result.target << ", seed " << result.seed << ", data "
            << result.data_checksum << ")\n";
  if (!a.output.empty()) write_file_atomic(a.output, result_to_json(result) + "\n");
  return 0;
}

}  // namespace

void add_evaluate_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static EvaluateArgs args;
  auto* cmd =
      app.add_subcommand("evaluate", "evaluate a model on a dataset split under a protocol");
  add_data_options(cmd, args.data, false);
  cmd->add_option("--model", args.model, "popularity, or a checkpoint (run/best.pt)");
  cmd->add_option("--split", args.split,
                  "loo, loo_random, temporal[:train,valid], random[:train,valid] [+novalid]");
  cmd->add_option("--protocol", args.protocol,
                  "full, sampled:uniform:N, sampled:popularity:N, file:PATH");
  cmd->add_option("--metrics", args.metrics,
                  "e.g. 'hr@5,10 ndcg@10 mrr@10 map@10 precision@10 recall@10'");
  cmd->add_option("--target", args.target, "valid or test")
      ->check(CLI::IsMember({"valid", "test"}));
  cmd->add_option("--candidates", args.candidates,
                  "save the drawn negatives here, or reuse them if the file exists");
  cmd->add_option("-o,--output", args.output, "write the result as JSON");
  cmd->callback([&action, &global, cmd] {
    action = [&global, cmd] { return run_evaluate(args, global, *cmd); };
  });
}

}  // namespace recpress::cli
