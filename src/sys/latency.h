// Latency percentiles of a query run many times in a row (one thread, warm): used by the study
// runner and `recpress compare`, so both report the same statistic the same way.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace recpress {

struct LatencyPercentiles {
  double p50_us = 0, p95_us = 0, p99_us = 0;
};

// Nearest-rank percentiles of `us` (microseconds); all zero when empty.
inline LatencyPercentiles percentiles_of(std::vector<double> us) {
  if (us.empty()) return {};
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  return {at(0.50), at(0.95), at(0.99)};
}

template <typename F>
double microseconds_of(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

// Runs query(i) for i = 0 .. warmup + n - 1 (i % n is the i-th query's subject) and returns the
// percentiles of the last n.
template <typename F>
LatencyPercentiles time_queries(std::size_t n, std::size_t warmup, F&& query) {
  std::vector<double> us;
  us.reserve(n);
  for (std::size_t r = 0; r < n + warmup; ++r) {
    const double t = microseconds_of([&] { query(r % n); });
    if (r >= warmup) us.push_back(t);
  }
  return percentiles_of(std::move(us));
}

}  // namespace recpress
