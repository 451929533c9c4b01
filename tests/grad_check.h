// Gradient check shared by the model tests: autograd's gradient of `loss` against central finite
// differences, on about `per_tensor` entries of every parameter (double precision expected).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <string>

namespace recpress::testing {

// `skip_rows(name)`: how many trailing rows of that parameter to leave out (e.g. an embedding's
// padding row, whose gradient is zero by construction). Returns the number of entries checked.
inline int expect_gradients_match(
    torch::nn::Module& model, const std::function<torch::Tensor()>& loss, const std::string& what,
    int per_tensor = 6, const std::function<std::int64_t(const std::string&)>& skip_rows = {}) {
  model.zero_grad();
  loss().backward();
  int checked = 0;
  for (auto& p : model.named_parameters()) {
    if (!p.value().grad().defined()) continue;
    const auto grad = p.value().grad().clone().view({-1});
    auto flat = p.value().data().view({-1});
    const std::int64_t row = p.value().dim() > 1 ? p.value().numel() / p.value().size(0) : 1;
    const auto limit = flat.size(0) - (skip_rows ? skip_rows(p.key()) * row : 0);
    for (std::int64_t k = 0; k < limit; k += std::max<std::int64_t>(1, limit / per_tensor)) {
      const double eps = 1e-6, orig = flat[k].item<double>();
      torch::NoGradGuard g;
      flat[k] = orig + eps;
      const double up = loss().item<double>();
      flat[k] = orig - eps;
      const double down = loss().item<double>();
      flat[k] = orig;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(grad[k].item<double>(), numeric, 1e-6 + 1e-4 * std::abs(numeric))
          << what << " " << p.key() << "[" << k << "]";
      ++checked;
    }
  }
  return checked;
}

}  // namespace recpress::testing
