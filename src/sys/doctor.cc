#include "sys/doctor.h"

#include <dlfcn.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "core/format.h"
#include "git_commit.h"  // generated: RECPRESS_GIT_COMMIT
#include "sys/launch.h"

namespace recpress {
namespace {

constexpr const char* kRecpressVersion = "0.1.0";

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// The BLAS shared object mapped into this process (what the dynamic linker really chose).
std::string mapped_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = std::filesystem::path(path).filename().string();
    if (name.rfind("libblas", 0) == 0 || name.rfind("libopenblas", 0) == 0 ||
        name.rfind("libblis", 0) == 0 || name.rfind("libmkl", 0) == 0) {
      if (found.find(path) == std::string::npos) found += (found.empty() ? "" : ", ") + path;
    }
  }
  return found.empty() ? "(none mapped)" : found;
}

// The library that provides sgemm_ to this process: the BLAS LibTorch's fp32 GEMMs really call.
std::string sgemm_provider() {
  void* fn = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (fn == nullptr || dladdr(fn, &info) == 0 || info.dli_fname == nullptr) return "";
  std::error_code ec;
  const auto real = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? std::string(info.dli_fname) : real.string();
}

std::string call_string_fn(const char* symbol) {
  using Fn = char* (*)();
  void* fn = dlsym(RTLD_DEFAULT, symbol);
  if (fn == nullptr) return "";
  const char* s = reinterpret_cast<Fn>(fn)();
  return s != nullptr ? s : "";
}

double measure_gemm(std::int64_t m, std::int64_t k, std::int64_t n, torch::Dtype dtype) {
  torch::manual_seed(0);
  const auto a = torch::randn({m, k}).to(dtype);
  const auto b = torch::randn({k, n}).to(dtype);
  // Into a preallocated output: a fresh 3.8 MB result per call would measure page faults.
  auto c = torch::mm(a, b);  // warm-up
  const double flop =
      2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n);
  int reps = 1;
  double seconds = 0;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) torch::mm_out(c, a, b);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 0.2 || reps > (1 << 20)) break;
    reps *= 4;
  }
  return flop * reps / seconds / 1e9;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

SoftwareVersions software_versions() {
  SoftwareVersions v;
  v.recpress = kRecpressVersion;
  v.torch = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
            std::to_string(TORCH_VERSION_PATCH);
  v.blas = sgemm_provider();
  const std::string core = call_string_fn("openblas_get_corename");
  if (!core.empty()) v.blas += " (" + core + ")";
  return v;
}

std::string version_line() {
  const SoftwareVersions v = software_versions();
  return "recpress " + v.recpress + " (commit " + RECPRESS_GIT_COMMIT + "), LibTorch " + v.torch +
         ", BLAS " + v.blas;
}

DoctorReport run_doctor() {
  DoctorReport r;
  r.recpress_version = kRecpressVersion;
  r.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." +
                    std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
  r.gemm_gflops = measure_gemm(3706, 128, 256, torch::kFloat32);
  r.small_gemm_gflops = measure_gemm(256, 64, 32, torch::kFloat32);
  try {
    r.bf16_gemm_gflops = measure_gemm(3706, 128, 256, torch::kBFloat16);
  } catch (const std::exception&) {
    r.bf16_gemm_gflops = 0;
  }
  r.blas_library = sgemm_provider();
  r.blas_mapped = mapped_blas();
  r.blas_core = call_string_fn("openblas_get_corename");
  r.blas_config = call_string_fn("openblas_get_config");
  r.torch_threads = at::get_num_threads();
  r.torch_interop_threads = at::get_num_interop_threads();
  r.omp_num_threads = env_or("OMP_NUM_THREADS", "(unset)");
  r.omp_wait_policy = env_or("OMP_WAIT_POLICY", "(unset)");
  r.openblas_coretype = env_or("OPENBLAS_CORETYPE", "(unset)");
  r.cpu_model = cpu_model();
  for (const char* f : {"avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                        "amx_bf16", "amx_tile"}) {
    if (cpu_has(f)) r.cpu_features.emplace_back(f);
  }
  if (r.blas_library.find("/blas/libblas") != std::string::npos) {  // Debian's reference BLAS
    r.warnings.push_back(
        "the reference BLAS (libblas3) is in use: training is 7-17x slower; install "
        "libopenblas0-serial (the setup script does)");
  }
  if (r.gemm_gflops < 20) {
    r.warnings.push_back("fp32 GEMM runs at " + fixed(r.gemm_gflops, 1) +
                         " GFLOP/s, below 20: the BLAS is slow or mis-detects this CPU");
  }
  if (!r.blas_core.empty() && (r.blas_core == "Prescott" || r.blas_core == "prescott")) {
    r.warnings.push_back(
        "OpenBLAS uses its Prescott kernels on this CPU; set OPENBLAS_CORETYPE=SkylakeX "
        "(or Haswell) before starting");
  }
  if (r.openblas_coretype == "Haswell" && cpu_has("avx512f") &&
      r.blas_library.find("openblas") != std::string::npos) {
    r.notes.push_back(
        "OPENBLAS_CORETYPE=Haswell was set before start and is kept; this CPU has AVX-512, "
        "where OpenBLAS's SkylakeX kernels measured ~2x faster (bench/blas_candidates.sh)");
  }
  if (r.torch_threads > 1 && r.omp_wait_policy != "PASSIVE" && r.omp_wait_policy != "passive") {
    r.warnings.push_back(
        std::to_string(r.torch_threads) +
        " compute threads with OMP_WAIT_POLICY not PASSIVE: spinning OpenMP threads "
        "make LibTorch 10-60x slower here");
  }
  return r;
}

std::string format_doctor(const DoctorReport& r) {
  std::ostringstream o;
  o << "recpress " << r.recpress_version << "\n";
  o << "LibTorch:          " << r.torch_version << "\n";
  o << "BLAS (sgemm_):     " << (r.blas_library.empty() ? "(not found)" : r.blas_library) << "\n";
  o << "BLAS mapped:       " << r.blas_mapped << "\n";
  if (!r.blas_core.empty())
    o << "OpenBLAS core:     " << r.blas_core << "  (" << r.blas_config << ")\n";
  o << "OPENBLAS_CORETYPE: " << r.openblas_coretype << "\n";
  o << "GEMM fp32 3706x128x256: " << fixed(r.gemm_gflops, 1) << " GFLOP/s\n";
  o << "GEMM fp32 256x64x32:    " << fixed(r.small_gemm_gflops, 1) << " GFLOP/s\n";
  o << "GEMM bf16 3706x128x256: "
    << (r.bf16_gemm_gflops > 0 ? fixed(r.bf16_gemm_gflops, 1) + " GFLOP/s"
                               : std::string("unsupported"))
    << "\n";
  o << "threads:           torch " << r.torch_threads << ", inter-op " << r.torch_interop_threads
    << ", OMP_NUM_THREADS " << r.omp_num_threads << ", OMP_WAIT_POLICY " << r.omp_wait_policy
    << "\n";
  o << "CPU:               " << r.cpu_model << "\n";
  o << "CPU features:     ";
  for (const auto& f : r.cpu_features) o << " " << f;
  o << "\n";
  for (const auto& n : r.notes) o << "note: " << n << "\n";
  if (r.warnings.empty()) {
    o << "status: OK\n";
  } else {
    for (const auto& w : r.warnings) o << "WARNING: " << w << "\n";
  }
  return o.str();
}

}  // namespace recpress
