// Evaluation protocols (see docs/design.md):
//   full                      rank the whole catalog; the user's training items are masked (and,
//                             when scoring the test part, the validation items too)
//   sampled:uniform:N         the held-out item(s) + N negatives drawn uniformly (NCF: N = 99;
//                             DE-RRD: N = 499)
//   sampled:popularity:N      negatives drawn in proportion to training popularity (BERT4Rec: 100)
//   file:PATH                 published candidates, e.g. NCF's ml-1m.test.negative
// Sampled negatives never contain an item the user interacted with (train, validation or test),
// never repeat, and are drawn once per seed so every model and epoch sees the same candidates.
#pragma once

#include <cstdint>
#include <string>

namespace recpress {

struct Protocol {
  enum class Kind { kFull, kSampled, kFile };
  Kind kind = Kind::kFull;
  std::string sampler;         // sampled: "uniform" | "popularity"
  std::int32_t negatives = 0;  // sampled: N
  std::string path;            // file

  static Protocol parse(const std::string& text);  // throws Error with the accepted forms
  std::string to_string() const;
};

enum class EvalTarget { kValid, kTest };
const char* to_string(EvalTarget target);

}  // namespace recpress
