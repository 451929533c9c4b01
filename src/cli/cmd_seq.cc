// recpress seq train / distill / evaluate: next-item recommendation on time-ordered sequences
// (leave-one-out: each user's last item tests, the one before validates). Examples:
//   recpress seq train --data ml-1m --model sasrec:loss=ce,max_len=200 -o runs/sasrec
//   recpress seq train --data ml-1m --model bert4rec:max_len=200 --protocol sampled:popularity:100
//   recpress seq distill --data ml-1m --teacher runs/sasrec/best.pt
//       --student sasrec:loss=ce,max_len=200,layers=1,heads=1,hidden=16 --method kd+attention
//   recpress seq evaluate --data ml-1m runs/sasrec/best.pt --protocol full
#include <iostream>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "eval/result.h"
#include "models/seq/adarec.h"
#include "train/checkpoint.h"
#include "train/seq_trainer.h"

namespace recpress::cli {
namespace {

struct SeqArgs {
  DataArgs data;
  std::string model = "sasrec";
  std::string output;  // default: runs/seq (train), runs/seq-distill (distill)
  std::string resume;
  SeqTrainConfig config;
  std::string teacher;
  std::vector<std::string> methods;
  std::string checkpoint;
  std::string target = "test";
  std::string options_file;
};

void add_eval_options(CLI::App* cmd, SeqArgs& a) {
  add_train_option_flags(cmd, a.config, {"protocol", "metrics"});
}

void add_training_options(CLI::App* cmd, SeqArgs& a) {
  add_train_option_flags(cmd, a.config);
  cmd->add_option("-o,--output", a.output,
                  "output folder (best.pt, last.pt, history.json, results.json)");
  cmd->add_option("--resume", a.resume, "continue the run saved in this last.pt");
  add_options_file_flag(cmd, a.options_file);
}

void print_result(const SeqTrainResult& r, const SeqModel& model, const std::string& output) {
  std::cout << "model " << model.spec().to_string() << ": " << with_commas(model.parameter_count())
            << " parameters, " << human_bytes(static_cast<double>(model.byte_size())) << "\n"
            << "best epoch " << r.best_epoch << " of " << r.epochs_run << ", "
            << fixed(r.seconds_per_epoch, 2) << " s/epoch, "
            << with_commas(static_cast<std::int64_t>(r.samples_per_second))
            << " predictions/s, wall " << fixed(r.wall_seconds, 1) << " s, peak RSS "
            << fixed(r.peak_rss_mib, 0) << " MiB, " << fixed(r.latency_ms_p50, 2)
            << " ms per user (all items, p50)\n";
  auto valid = r.best_valid, test = r.test;
  valid.scorer = "valid (best epoch)";
  test.scorer = "test";
  std::cout << results_table({valid, test});
  if (!output.empty())
    std::cout << "wrote " << output << "/{best.pt,last.pt,history.json,results.json}\n";
  if (const auto* adarec = dynamic_cast<const AdaRecImpl*>(&model);
      adarec != nullptr && adarec->searching())
    std::cout << "derived architecture: " << adarec->derived_spec()
              << "\n(train it as the student to ship: --student '" << adarec->derived_spec()
              << "')\n";
}

Split loo_split(const Dataset& data, std::uint64_t seed) {
  return make_split(data, SplitConfig::parse("loo", seed));
}

// A resumed run takes its options and model from the checkpoint (given ones must agree).
void apply_resume(SeqArgs& a, const GlobalOptions& g, const CLI::App& cmd) {
  a.config.seed = g.seed;
  a.config.show_progress = !g.quiet;
  if (a.resume.empty()) return;
  const Checkpoint ck = read_checkpoint(a.resume);
  a.config = SeqTrainConfig::from_json(resumed_options(
      ck.header.value("config", nlohmann::json::object()), a.config.to_json(), cmd, g));
  a.config.show_progress = !g.quiet;
  a.model = resumed_model(ck.header, a.model, cmd, a.resume);
}

int run_train(SeqArgs& a, const GlobalOptions& g, const CLI::App& cmd) {
  if (!a.options_file.empty()) apply_options_file(a.options_file, cmd);
  if (cmd.get_option("--output")->count() == 0) a.output = "runs/seq";
  apply_resume(a, g, cmd);
  a.config.validate();
  const auto spec = ModelSpec::parse(a.model);
  prepare_output_dir(a.output);
  const Dataset data = load_data(a.data, g);
  const Split split = loo_split(data, g.seed);
  torch::manual_seed(g.seed);
  auto model = create_seq_model(spec, data.num_items());
  SeqTrainer trainer(data, split, model, a.config);
  print_result(trainer.fit(a.output, a.resume), *model, a.output);
  return 0;
}

int run_distill(SeqArgs& a, const GlobalOptions& g, const CLI::App& cmd) {
  if (!a.options_file.empty()) apply_options_file(a.options_file, cmd);
  if (cmd.get_option("--output")->count() == 0) a.output = "runs/seq-distill";
  apply_resume(a, g, cmd);
  a.config.validate();
  prepare_output_dir(a.output, {a.teacher});
  auto terms = parse_seq_distillation_terms(a.methods);
  const auto spec = ModelSpec::parse(a.model);
  const Dataset data = load_data(a.data, g);
  const Split split = loo_split(data, g.seed);
  auto teacher = load_seq_checkpoint(a.teacher, &data);
  torch::manual_seed(g.seed);
  auto student = create_seq_model(spec, data.num_items());
  if (!g.quiet)
    std::cerr << "teacher " << teacher->spec().to_string() << " ("
              << with_commas(teacher->parameter_count()) << " parameters) -> student "
              << spec.to_string() << " (" << with_commas(student->parameter_count()) << ", 1/"
              << fixed(static_cast<double>(teacher->parameter_count()) /
                           static_cast<double>(student->parameter_count()),
                       1)
              << ")\n";
  SeqTrainer trainer(data, split, student, a.config);
  trainer.distill_from({teacher, std::move(terms)});
  print_result(trainer.fit(a.output, a.resume), *student, a.output);
  return 0;
}

int run_evaluate(SeqArgs& a, const GlobalOptions& g, const CLI::App& cmd) {
  a.config.validate();
  const Dataset data = load_data(data_args_for_checkpoint(a.data, a.checkpoint, cmd), g);
  const Split split = loo_split(data, g.seed);
  auto model = load_seq_checkpoint(a.checkpoint, &data);
  if (a.target != "valid" && a.target != "test") throw Error("--target must be valid or test");
  const auto target = a.target == "valid" ? EvalTarget::kValid : EvalTarget::kTest;
  const Evaluator evaluator(data, split, target, Protocol::parse(a.config.protocol),
                            parse_metrics(a.config.metrics), g.seed);
  const auto result =
      evaluator.evaluate(SeqScorer(model, evaluation_histories(data, split, target)));
  std::cout << results_table({result});
  return 0;
}

}  // namespace

void add_seq_command(CLI::App& app, GlobalOptions& global, Action& action) {
  auto* seq = app.add_subcommand("seq", "next-item recommendation: train, distill, evaluate");
  seq->require_subcommand(1);
  static SeqArgs args;

  auto* train = seq->add_subcommand("train", "train a next-item model (leave-one-out by time)");
  add_data_options(train, args.data, false);
  train
      ->add_option("-m,--model", args.model,
                   "model[:key=value,...]; models:" + list_entries(seq_models()))
      ->capture_default_str();
  add_training_options(train, args);
  train->callback([&, train] { action = [&, train] { return run_train(args, global, *train); }; });

  auto* distill = seq->add_subcommand("distill", "train a small next-item model from a teacher");
  add_data_options(distill, args.data, false);
  distill->add_option("--teacher", args.teacher, "teacher checkpoint (best.pt of seq train)")
      ->required();
  distill->add_option("-s,--student", args.model, "student model[:key=value,...]")->required();
  distill
      ->add_option(
          "--method", args.methods,
          "name[:params][@weight], '+' joins several; methods:" + list_entries(seq_distillers()))
      ->required();
  add_training_options(distill, args);
  distill->callback(
      [&, distill] { action = [&, distill] { return run_distill(args, global, *distill); }; });

  auto* evaluate = seq->add_subcommand("evaluate", "evaluate a next-item checkpoint");
  add_data_options(evaluate, args.data, false);
  evaluate->add_option("checkpoint", args.checkpoint, "best.pt of seq train / distill")->required();
  evaluate->add_option("--target", args.target, "valid | test")->capture_default_str();
  add_eval_options(evaluate, args);
  evaluate->callback(
      [&, evaluate] { action = [&, evaluate] { return run_evaluate(args, global, *evaluate); }; });
}

}  // namespace recpress::cli
