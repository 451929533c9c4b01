// `recpress doctor`: what the numeric stack actually is on this machine, and whether it is fast.
#pragma once

#include <string>
#include <vector>

namespace recpress {

struct DoctorReport {
  std::string recpress_version;
  std::string torch_version;
  std::string blas_library;  // the shared object that provides sgemm_, resolved through symlinks
  std::string blas_mapped;   // every BLAS-like shared object mapped into the process
  std::string blas_core;     // OpenBLAS: the kernel family in use (openblas_get_corename)
  std::string blas_config;   // OpenBLAS: build configuration
  double gemm_gflops = 0;    // fp32 3706x128 @ 128x256 (a NeuMF-sized item-tower GEMM)
  double small_gemm_gflops = 0;  // fp32 256x64 @ 64x32 (one MLP layer at batch 256)
  double bf16_gemm_gflops = 0;   // the large GEMM in bf16 through LibTorch (0 if unsupported)
  int torch_threads = 0;
  int torch_interop_threads = 0;
  std::string omp_num_threads;
  std::string omp_wait_policy;
  std::string openblas_coretype;
  std::string cpu_model;
  std::vector<std::string> cpu_features;
  std::vector<std::string> warnings;
  std::vector<std::string> notes;
};

DoctorReport run_doctor();

// The versions a result depends on (cheap: no measurement): RecPress, LibTorch, and the BLAS
// library that provides sgemm (with OpenBLAS's kernel family when it says).
struct SoftwareVersions {
  std::string recpress, torch, blas;
};
SoftwareVersions software_versions();
// "recpress 0.1.0 (commit 1a2b3c4), LibTorch 1.13.0, BLAS ..." for `recpress --version`.
std::string version_line();
std::string format_doctor(const DoctorReport& report);

}  // namespace recpress
