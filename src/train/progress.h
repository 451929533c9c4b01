// One-line training progress on a terminal (samples/s, loss, ETA, the last validation result),
// and one line per epoch when stderr is not a terminal. Shared by the top-N and CTR trainers.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/format.h"

namespace recpress {

class Progress {
 public:
  Progress(bool enabled) : enabled_(enabled), tty_(enabled && isatty(2)) {}
  void batch(int epoch, int epochs, std::size_t done, std::size_t total, double samples_per_s,
             double loss, const std::string& last_valid) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double frac = static_cast<double>(done) / static_cast<double>(total);
    const double eta = samples_per_s > 0 ? static_cast<double>(total - done) / samples_per_s : 0;
    std::fprintf(stderr, "\r\033[Kepoch %d/%d %5.1f%%  %s samples/s  loss %.4f  ETA %.0fs%s", epoch,
                 epochs, 100 * frac, with_commas(static_cast<std::int64_t>(samples_per_s)).c_str(),
                 loss, eta, last_valid.empty() ? "" : ("  | " + last_valid).c_str());
  }
  void epoch_line(const std::string& line) {
    if (!enabled_) return;
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", line.c_str());
  }

 private:
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace recpress
