// Process set-up that must happen before the BLAS and OpenMP libraries read their environment.
//
// These machines give about one core of throughput across their vCPUs: OpenMP workers that spin
// while waiting make LibTorch 10-60x slower, so we default to ONE compute thread and, when more
// are asked for, set OMP_WAIT_POLICY=PASSIVE. OpenBLAS 0.3.21 detects AVX-512 CPUs as "Prescott"
// and runs ~4x below its SkylakeX kernels, so we set OPENBLAS_CORETYPE=SkylakeX when it is unset
// and the CPU has AVX-512. Both variables are read when the libraries load, so the process
// re-executes itself once with them set. A value the user already set is never overridden.
#pragma once

namespace recpress {

// Call first in main(). May not return (re-exec). `threads` is the requested compute threads.
void prepare_environment(int argc, char** argv, int threads);

// Compute threads requested on the command line (--threads N / --threads=N), else
// $RECPRESS_THREADS, else 1.
int requested_threads(int argc, char** argv);

// Apply the thread count to LibTorch (intra- and inter-op).
void apply_threads(int threads);

// Keep freed memory in the heap instead of returning it to the system. Training allocates and
// frees the same large tensors every mini-batch (embedding gathers of tens of MB); glibc serves
// them with fresh mmap()s by default, and the page faults that follow cost more than the compute
// on these virtual machines (measured: 60-85 s/epoch -> see docs/design.md). Call first in main().
void reuse_freed_memory();

// CPU feature flags from /proc/cpuinfo (empty if unavailable).
bool cpu_has(const char* flag);
// bfloat16 matrix products faster than fp32 ones: AVX512-BF16 or AMX (oneDNN's kernels, which
// LibTorch's bf16 matmul uses). Without them bf16 GEMM measured ~5 GFLOP/s against ~80 fp32.
bool cpu_has_fast_bf16();

}  // namespace recpress
