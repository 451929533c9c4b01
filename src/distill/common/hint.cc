#include "distill/common/hint.h"

#include <sstream>

#include "core/errors.h"
#include "core/text_reader.h"

namespace recpress {

torch::Tensor hint_loss(const torch::Tensor& teacher_layer, const torch::Tensor& regressed) {
  return 0.5 * (teacher_layer.detach() - regressed).pow(2).sum(-1).mean();
}

std::vector<std::pair<std::int64_t, std::int64_t>> layer_mapping(const std::string& text,
                                                                 std::int64_t student_layers,
                                                                 std::int64_t teacher_layers,
                                                                 const std::string& method) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  if (text.empty()) {
    // Student layer s (1-based) learns from teacher layer ceil(s * T / S): the last from the last.
    for (std::int64_t s = 1; s <= student_layers; ++s)
      out.emplace_back(s - 1, (s * teacher_layers + student_layers - 1) / student_layers - 1);
    return out;
  }
  auto layer = [&](const std::string& t, std::int64_t count, const char* who) {
    if (t == "last") return count - 1;
    long long v = 0;
    if (!parse_int64(t, v) || v < 1 || v > count)
      throw Error(method + ": " + who + " layer '" + t + "' does not exist (1.." +
                  std::to_string(count) + " or last)");
    return static_cast<std::int64_t>(v - 1);
  };
  std::istringstream in(text);
  std::string pair;
  while (std::getline(in, pair, '/')) {
    const auto gt = pair.find('>');
    if (gt == std::string::npos)
      throw Error(method + ": layer pair '" + pair + "' must be STUDENT>TEACHER (e.g. 1>2)");
    out.emplace_back(layer(pair.substr(0, gt), student_layers, "student"),
                     layer(pair.substr(gt + 1), teacher_layers, "teacher"));
  }
  return out;
}

}  // namespace recpress
