// Internal to the runtime (not installed): the .rpm header's constants and readers shared by the
// encoder (encode.cc), the loader (load.cc) and the scorer (model.cc, kernels.cc).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "core/hash.h"
#include "runtime/model.h"

namespace recpress::runtime {

// Version 1: top-N files; version 2: the kinds added later (CTR). A top-N file is still written
// as version 1, so runtimes that predate version 2 keep reading it.
inline constexpr std::uint32_t kFirstVersion = 1;
inline constexpr char kMagic[8] = {'R', 'E', 'C', 'P', 'R', 'E', 'S', 'S'};
// Items per block through an NCF tower (activations of a block stay in L1/L2), and the widest
// layer a file may declare.
inline constexpr std::size_t kTowerBlock = 64;
inline constexpr std::uint32_t kMaxTowerWidth = 1u << 16;

inline std::size_t bytes_of(DType d) {
  return d == DType::kF32 ? 4 : d == DType::kF16 ? 2 : 1;
}

inline std::uint64_t checksum(const std::uint8_t* p, std::size_t n) {
  Fnv1a h;
  h.add(p, n);
  return h.value();
}

template <typename T>
T read_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the format is little endian, as every target we build for
  return v;
}

// Whether the kernels compiled for AVX2 + FMA may run here (checked once; kernels.cc).
bool cpu_has_avx2_fma();

// half -> float for all 65,536 halves (kernels.cc).
const std::array<float, 65536>& half_table();

// y[k][j] = relu(b[k] + sum_c w[k][c] x[c][j]) for j < m, x and y feature-major with a stride of
// kTowerBlock (kernels.cc); x's buffer must hold kTowerBlock columns (columns past m are read).
void dense_relu(const float* w, const float* b, std::size_t in, std::size_t out, const float* x,
                std::size_t m, float* y);
// y[r][k] = b[k] + sum_c x[r][c] wt[c][k] for `rows` rows of x (row-major), transposed weights.
void affine_rows(const float* wt, const float* b, std::size_t in, std::size_t out, const float* x,
                 std::size_t rows, float* y);
// The same for one vector x[0..in) with transposed weights wt (in x out): identical sums.
void dense_relu_row(const float* wt, const float* b, std::size_t in, std::size_t out,
                    const float* x, float* y);

// The bytes of a model: always a private, 8-byte aligned copy. The file is read once at open and
// never touched again, so whoever rewrites it in place (`cp new.rpm live.rpm`) cannot pull pages
// from under a running scorer: a read-only mapping of a file that shrinks turns the next access
// into SIGBUS. The copy costs one read of the file (docs/results.md, "loading a model").
struct FileBytes {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::unique_ptr<std::uint64_t[]> owned;  // the bytes (not zeroed first: they are read over)
  std::deque<std::string> decoded_ids;     // numeric ids as text (a deque: views stay valid)
};
std::shared_ptr<FileBytes> read_model_file(const std::string& path);
std::shared_ptr<FileBytes> copy_model_bytes(std::string_view bytes);

// Checks the header (magic, version, size, checksum) and the FlatBuffers verifier; returns the
// format version. Throws ModelError("<name>: ...").
std::uint32_t verify_model_bytes(const FileBytes& bytes, const std::string& name);

}  // namespace recpress::runtime
