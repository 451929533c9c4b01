// recpress ctr train / distill / evaluate: click-through-rate prediction. Examples:
//   recpress ctr train --data ml-1m --model deepfm:dim=16 -o runs/ctr/deepfm
//   recpress ctr train --data criteo_sample.txt --model wide_deep --numeric criteo -o runs/criteo
//   recpress ctr distill --teacher runs/ctr/deepfm/best.pt --student deepfm:dim=4,hidden=32-16
//       --method kd -o runs/ctr/kd
//   recpress ctr distill --teacher wd/best.pt --teacher deepfm/best.pt --student fm:dim=4 --method
//   kd recpress ctr evaluate runs/ctr/kd/best.pt
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "train/checkpoint.h"
#include "train/ctr_trainer.h"
#include "train/schemes.h"

namespace recpress::cli {
namespace {

struct CtrArgs {
  CtrDataSpec data;
  std::string crosses;
  std::string model = "deepfm";
  std::string output;  // default: runs/ctr (train), runs/ctr-distill (distill)
  std::string resume;
  CtrTrainConfig config;
  std::vector<std::string> teachers;
  std::vector<std::string> methods;
  std::string checkpoint;  // evaluate
  bool json = false;
  std::string options_file;
};

void add_training_options(CLI::App* cmd, CtrArgs& a) {
  add_train_option_flags(cmd, a.config);
  cmd->add_option("-o,--output", a.output,
                  "output folder (best.pt, last.pt, history.json, results.json)");
  cmd->add_option("--resume", a.resume, "continue the run saved in this last.pt");
  add_options_file_flag(cmd, a.options_file);
}

void add_feature_options(CLI::App* cmd, CtrArgs& a) {
  auto& d = a.data;
  cmd->add_option("--data", d.data,
                  "dataset name (ml-100k, ml-1m, synthetic, ...) or file (Criteo, Avazu, CSV)")
      ->capture_default_str();
  cmd->add_option("--format", d.format, "force the format: ratings | criteo | avazu | csv");
  cmd->add_option("--schema", d.schema,
                  "CSV schema: COLUMN=KIND,... with kinds label, label>=T, cat, multi[/SEP], num, "
                  "time, skip, and +group on the GAUC grouping column");
  cmd->add_option("--threshold", d.threshold, "rated data: label = rating >= threshold")
      ->capture_default_str();
  cmd->add_option("--split", d.split, "random:TRAIN,VALID,TEST or temporal:TRAIN,VALID,TEST")
      ->capture_default_str();
  cmd->add_option(
      "--crosses", a.crosses,
      "cross-product features for the wide part: FIELD*FIELD,... (e.g. user*item_genre)");
  cmd->add_option("--min-count", d.features.min_count,
                  "values seen fewer times in training go to the OOV bucket")
      ->capture_default_str();
  cmd->add_option(
         "--hash-buckets", d.features.hash_buckets,
         "hash fields with more distinct values than this into this many buckets (0: never)")
      ->capture_default_str();
  cmd->add_option("--numeric", d.features.numeric, "numeric fields: log | bucket:N | criteo")
      ->capture_default_str();
  cmd->add_option("--max-tokens", d.features.max_tokens, "values kept per multi-hot field")
      ->capture_default_str();
}

void print_data(const CtrData& d) {
  const auto& l = d.encoder.layout();
  std::cerr << "data " << d.name << ": " << with_commas(d.train.rows) << " train / "
            << with_commas(d.valid.rows) << " valid / " << with_commas(d.test.rows)
            << " test rows, " << percent(100 * d.train.positive_rate()) << " positive; "
            << l.sparse.size() << " sparse fields (" << with_commas(l.vocab_size) << " ids), "
            << l.dense.size() << " dense\n";
}

void print_result(const CtrTrainResult& r, const CtrModel& model, const std::string& output) {
  std::cout << "model " << model.spec().to_string() << ": " << with_commas(model.parameter_count())
            << " parameters, " << human_bytes(static_cast<double>(model.byte_size())) << "\n"
            << "best epoch " << r.best_epoch << " of " << r.epochs_run << ", "
            << fixed(r.seconds_per_epoch, 2) << " s/epoch, "
            << with_commas(static_cast<std::int64_t>(r.samples_per_second)) << " samples/s\n"
            << "valid " << r.best_valid.summary() << "\n"
            << "test  " << r.test.summary() << "  ("
            << with_commas(static_cast<std::int64_t>(r.test.rows_per_second)) << " rows/s)\n";
  if (!output.empty())
    std::cout << "wrote " << output << "/{best.pt,last.pt,history.json,results.json}\n";
}

int run_train(CtrArgs& a, const GlobalOptions& g, const CLI::App& cmd) {
  if (!a.options_file.empty()) apply_options_file(a.options_file, cmd);
  if (cmd.get_option("--output")->count() == 0) a.output = "runs/ctr";
  a.config.seed = g.seed;
  a.config.show_progress = !g.quiet;
  std::optional<CtrCheckpoint> resumed;
  if (!a.resume.empty()) {
    // The same run: its data, features, model and options come from the checkpoint.
    resumed = load_ctr_checkpoint(a.resume, /*with_model=*/false);
    const auto* data_option = cmd.get_option_no_throw("--data");
    if (data_option != nullptr && data_option->count() > 0 && a.data.data != resumed->data.data)
      throw DataError(a.resume, 0, "data",
                      "the checkpoint was trained on '" + resumed->data.data + "', not '" +
                          a.data.data + "'; resume only the run it came from");
    a.config = CtrTrainConfig::from_json(
        resumed_options(resumed->header.at("config"), a.config.to_json(), cmd, g));
    a.config.show_progress = !g.quiet;
    a.model = resumed_model(resumed->header, a.model, cmd, a.resume);
  } else {
    if (a.data.data.empty())
      throw Error(
          "ctr train: --data is required (a dataset name such as ml-1m, 'synthetic', or "
          "a Criteo / Avazu / CSV file)");
    a.data.split_seed = g.seed;
    a.data.features.crosses = CtrEncoderConfig::parse_crosses(a.crosses);
  }
  a.config.validate();
  const auto spec = ModelSpec::parse(a.model);
  prepare_output_dir(a.output, {a.data.data});
  const CtrData data = resumed ? prepare_ctr_data(resumed->data, &resumed->encoder, g.data_root)
                               : prepare_ctr_data(a.data, nullptr, g.data_root);
  if (!g.quiet) print_data(data);
  torch::manual_seed(g.seed);
  auto model = create_ctr_model(spec, data.encoder.layout());
  CtrTrainer trainer(data, model, a.config);
  const auto result = trainer.fit(a.output, a.resume);
  print_result(result, *model, a.output);
  return 0;
}

int run_distill(CtrArgs& a, const GlobalOptions& g, const CLI::App& cmd) {
  if (!a.options_file.empty()) apply_options_file(a.options_file, cmd);
  if (a.teachers.empty()) throw Error("ctr distill: --teacher is required");
  if (a.methods.empty()) throw Error("ctr distill: --method is required (e.g. kd, hint, kd+hint)");
  if (cmd.get_option("--output")->count() == 0) a.output = "runs/ctr-distill";
  a.config.seed = g.seed;
  a.config.show_progress = !g.quiet;
  if (!a.resume.empty()) {
    const Checkpoint ck = read_checkpoint(a.resume);
    a.config = CtrTrainConfig::from_json(resumed_options(
        ck.header.value("config", nlohmann::json::object()), a.config.to_json(), cmd, g));
    a.config.show_progress = !g.quiet;
  }
  a.config.validate();
  prepare_output_dir(a.output, a.teachers);
  auto terms = parse_ctr_distillation_terms(a.methods);
  const auto spec = ModelSpec::parse(a.model);
  const CtrTeachers teachers = load_ctr_teachers(a.teachers);
  const auto& first = teachers.checkpoints.front();
  // The teacher's rows, split and features, so both models see the same inputs.
  const CtrData data = prepare_ctr_data(first.data, &first.encoder, g.data_root);
  if (data.checksum != first.header.at("data_checksum").get<std::string>())
    throw Error("ctr distill: the data '" + first.data.data +
                "' changed since the teacher was trained");
  if (!g.quiet) print_data(data);
  const CtrModelPtr teacher = teachers.model;
  torch::manual_seed(g.seed);
  auto student = create_ctr_model(spec, data.encoder.layout());
  if (!g.quiet)
    std::cerr << "teacher " << teacher->spec().to_string() << " ("
              << with_commas(teacher->parameter_count()) << " parameters) -> student "
              << spec.to_string() << " (" << with_commas(student->parameter_count()) << ", "
              << percent(100.0 * static_cast<double>(student->parameter_count()) /
                         static_cast<double>(teacher->parameter_count()))
              << ")\n";
  CtrTrainer trainer(data, student, a.config);
  trainer.distill_from({teacher, std::move(terms)});
  const auto result = trainer.fit(a.output, a.resume);
  print_result(result, *student, a.output);
  return 0;
}

int run_evaluate(const CtrArgs& a, const GlobalOptions& g) {
  const CtrCheckpoint c = load_ctr_checkpoint(a.checkpoint);
  const CtrData data = prepare_ctr_data(c.data, &c.encoder, g.data_root);
  if (data.checksum != c.header.at("data_checksum").get<std::string>())
    throw Error("ctr evaluate: the data '" + c.data.data + "' changed since the model was trained");
  const auto valid = evaluate_ctr(*c.model, data.valid);
  const auto test = evaluate_ctr(*c.model, data.test);
  if (a.json) {
    std::cout << nlohmann::json{{"model", c.model->spec().to_string()},
                                {"parameters", c.model->parameter_count()},
                                {"bytes", c.model->byte_size()},
                                {"dataset", data.name},
                                {"data", c.data.to_json()},
                                {"valid", valid.to_json()},
                                {"test", test.to_json()}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << "model " << c.model->spec().to_string() << " on " << data.name << " ("
            << c.data.split << ", seed " << c.data.split_seed
            << "): " << with_commas(c.model->parameter_count()) << " parameters\n"
            << "valid " << valid.summary() << "\n"
            << "test  " << test.summary() << "  ("
            << with_commas(static_cast<std::int64_t>(test.rows_per_second)) << " rows/s)\n";
  return 0;
}

}  // namespace

void add_ctr_command(CLI::App& app, GlobalOptions& global, Action& action) {
  auto* ctr = app.add_subcommand("ctr", "click-through-rate prediction: train, distill, evaluate");
  ctr->require_subcommand(1);
  static CtrArgs args;

  auto* train = ctr->add_subcommand("train", "train a CTR model (a teacher, or a student alone)");
  add_feature_options(train, args);
  train
      ->add_option("-m,--model", args.model,
                   "model[:key=value,...]; models:" + list_entries(ctr_models()))
      ->capture_default_str();
  add_training_options(train, args);
  train->callback([&, train] { action = [&, train] { return run_train(args, global, *train); }; });

  auto* distill = ctr->add_subcommand("distill", "train a small CTR model from trained teacher(s)");
  distill
      ->add_option("--teacher", args.teachers,
                   "teacher checkpoint; repeat for a multi-teacher ensemble (mean of logits)")
      ->required();
  distill->add_option("-s,--student", args.model, "student model[:key=value,...]")->required();
  distill
      ->add_option(
          "--method", args.methods,
          "name[:params][@weight], '+' joins several; methods:" + list_entries(ctr_distillers()))
      ->required();
  add_training_options(distill, args);
  distill->callback(
      [&, distill] { action = [&, distill] { return run_distill(args, global, *distill); }; });

  auto* evaluate = ctr->add_subcommand("evaluate", "AUC, LogLoss and GAUC of a CTR checkpoint");
  evaluate->add_option("checkpoint", args.checkpoint, "best.pt of `ctr train` or `ctr distill`")
      ->required();
  evaluate->add_flag("--json", args.json, "print JSON");
  evaluate->callback([&] { action = [&] { return run_evaluate(args, global); }; });
}

}  // namespace recpress::cli
