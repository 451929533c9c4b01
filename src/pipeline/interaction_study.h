// What the top-N and next-item studies share: a loaded dataset of (user, item) interactions, a
// split per seed from the recipe's `split`, and evaluation results as JSON.
#pragma once

#include <memory>

#include "data/dataset.h"
#include "data/split.h"
#include "eval/evaluator.h"
#include "pipeline/study_task.h"

namespace recpress::pipeline {

inline nlohmann::ordered_json metrics_json(const EvalResult& e) {
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (const auto& [k, v] : e.metrics) m[k] = v;
  for (const auto& [k, v] : e.by_popularity) m[k] = v;  // "head NDCG@10", "tail users", ...
  return m;
}

class InteractionStudy : public StudyTask {
 public:
  InteractionStudy(const Recipe& recipe, const Dataset& data) : recipe_(recipe), data_(data) {}

  nlohmann::ordered_json data_summary() const override {
    return {{"name", data_.name},
            {"checksum", data_.checksum()},
            {"users", data_.num_users()},
            {"items", data_.num_items()},
            {"interactions", data_.interactions.size()}};
  }
  void begin_seed(std::int64_t seed) override {
    split_ = std::make_unique<Split>(
        make_split(data_, SplitConfig::parse(recipe_.split, static_cast<std::uint64_t>(seed))));
    seed_ = seed;
  }
  std::string split_key() const override { return split_->config.to_string(); }
  std::vector<std::string> report_metrics() const override {
    std::vector<std::string> out = {recipe_.monitor};
    if (recipe_.monitor != "HR@10") out.push_back("HR@10");
    out.push_back("head " + recipe_.monitor);  // EvalResult::by_popularity
    out.push_back("tail " + recipe_.monitor);
    return out;
  }

 protected:
  // A run's training options: the section's, with the study's protocol, metrics and monitor.
  template <typename Config>
  Config config_of(const RunRequest& r) const {
    Config c;
    apply_section(c, r);
    c.protocol = recipe_.protocol;
    c.metrics = recipe_.metrics;
    c.monitor = recipe_.monitor;
    c.validate();
    return c;
  }
  // The recipe's headline and extra protocols for the test part.
  Evaluator test_evaluator(const std::string& protocol) const {
    return Evaluator(data_, *split_, EvalTarget::kTest, Protocol::parse(protocol),
                     parse_metrics(recipe_.metrics), static_cast<std::uint64_t>(seed_));
  }
  double monitored(const EvalResult& e) const {
    const auto it = e.metrics.find(recipe_.monitor);
    return it == e.metrics.end() ? 0.0 : it->second;
  }
  std::size_t latency_users() const {
    return static_cast<std::size_t>(
        std::min<std::int64_t>(recipe_.latency_users, data_.num_users()));
  }

  const Recipe& recipe_;
  const Dataset& data_;
  std::unique_ptr<Split> split_;
  std::int64_t seed_ = 1;
};

}  // namespace recpress::pipeline
