#include "sys/launch.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <torch/torch.h>

namespace recpress {

bool cpu_has(const char* flag) {
  static const std::set<std::string> flags = [] {
    std::set<std::string> out;
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line.substr(line.find(':') + 1));
      std::string w;
      while (words >> w) out.insert(w);
      break;
    }
    return out;
  }();
  return flags.count(flag) > 0;
}

bool cpu_has_fast_bf16() {
  return cpu_has("avx512_bf16") || cpu_has("amx_bf16");
}

int requested_threads(int argc, char** argv) {
  const char* value = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) value = argv[i + 1];
    if (std::strncmp(argv[i], "--threads=", 10) == 0) value = argv[i] + 10;
  }
  if (value == nullptr) value = std::getenv("RECPRESS_THREADS");
  if (value == nullptr) return 1;
  const int n = std::atoi(value);
  return n >= 1 ? n : 1;
}

void prepare_environment(int argc, char** argv, int threads) {
  if (std::getenv("RECPRESS_ENV_READY") != nullptr) return;  // already re-executed once
  bool changed = false;
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && cpu_has("avx512f")) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    changed = true;
  }
  if (threads > 1 && std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    changed = true;
  }
  if (!changed) return;
  setenv("RECPRESS_ENV_READY", "1", 1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with what we have (doctor will report it)
}

void reuse_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // serve blocks up to 1 GiB from the heap (reused on free)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and keep up to 1 GiB of free heap instead of trimming
}

void apply_threads(int threads) {
  at::set_num_threads(threads);
  static bool interop_set = false;
  if (!interop_set) {
    at::set_num_interop_threads(threads);  // may only be called once per process
    interop_set = true;
  }
}

}  // namespace recpress
