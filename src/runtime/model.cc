#include "runtime/model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RECPRESS_X86 1
#endif

#include "core/hash.h"
#include "recpress_model_generated.h"
#include "runtime/topk.h"

namespace recpress::runtime {
namespace {

constexpr char kMagic[8] = {'R', 'E', 'C', 'P', 'R', 'E', 'S', 'S'};
// Items per block through an NCF tower (activations of a block stay in L1/L2), and the widest
// layer a file may declare.
constexpr std::size_t kTowerBlock = 64;
constexpr std::uint32_t kMaxTowerWidth = 1u << 16;

std::size_t bytes_of(DType d) {
  return d == DType::kF32 ? 4 : d == DType::kF16 ? 2 : 1;
}

std::uint64_t checksum(const std::uint8_t* p, std::size_t n) {
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

const std::array<float, 65536>& half_table() {
  static const std::array<float, 65536> table = [] {
    std::array<float, 65536> t{};
    for (std::uint32_t h = 0; h < 65536; ++h) t[h] = half_to_float(static_cast<std::uint16_t>(h));
    return t;
  }();
  return table;
}

}  // namespace

// The scoring kernels stream the column-major item matrix one dimension at a time, so the inner
// loop runs across items and vectorises; each is compiled for AVX2 and for the baseline and the
// loader picks one at run time (GCC function multi-versioning).
__attribute__((target_clones("avx2", "default"))) void score_f32(const float* u, const float* q,
                                                                 std::size_t d, std::size_t n,
                                                                 float bias, float* out) {
  std::fill(out, out + n, 0.0f);
  for (std::size_t k = 0; k < d; ++k) {
    const float uk = u[k];
    const float* col = q + k * n;
    for (std::size_t i = 0; i < n; ++i) out[i] += uk * col[i];
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = bias + out[i];
}

// int8 x int8 products summed in int32, then scaled: s = b + s_u s_i sum_k q_uk q_ik.
__attribute__((target_clones("avx2", "default"))) void score_i8(
    const std::int8_t* u, const std::int8_t* q, std::size_t d, std::size_t n, float bias,
    float user_scale, const float* item_scales, float* out) {
  thread_local std::vector<std::int32_t> acc;
  acc.assign(n, 0);
  std::int32_t* a = acc.data();
  // Two dimensions at a time in 16-bit lanes: |q| <= 127, so a pair of products fits an int16
  // (2 * 127^2 = 32258), which halves the widening work of the 32-bit accumulation.
  std::size_t k = 0;
  for (; k + 1 < d; k += 2) {
    const std::int16_t u0 = u[k], u1 = u[k + 1];
    const std::int8_t* c0 = q + k * n;
    const std::int8_t* c1 = c0 + n;
    for (std::size_t i = 0; i < n; ++i)
      a[i] += static_cast<std::int16_t>(u0 * static_cast<std::int16_t>(c0[i]) +
                                        u1 * static_cast<std::int16_t>(c1[i]));
  }
  for (; k < d; ++k) {
    const std::int32_t uk = u[k];
    const std::int8_t* col = q + k * n;
    for (std::size_t i = 0; i < n; ++i) a[i] += uk * static_cast<std::int32_t>(col[i]);
  }
  for (std::size_t i = 0; i < n; ++i)
    out[i] = bias + user_scale * item_scales[i] * static_cast<float>(a[i]);
}

namespace {

#ifdef RECPRESS_X86
// fp16 with the CPU's conversion instructions (F16C: 8 halves -> 8 floats per instruction).
__attribute__((target("avx2,f16c,fma"))) void score_f16_f16c(const std::uint16_t* u,
                                                             const std::uint16_t* q, std::size_t d,
                                                             std::size_t n, float bias,
                                                             float* out) {
  std::fill(out, out + n, 0.0f);
  for (std::size_t k = 0; k < d; ++k) {
    const float uk = _cvtsh_ss(u[k]);
    const __m256 vu = _mm256_set1_ps(uk);
    const std::uint16_t* col = q + k * n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(col + i)));
      _mm256_storeu_ps(out + i, _mm256_fmadd_ps(vu, x, _mm256_loadu_ps(out + i)));
    }
    for (; i < n; ++i) out[i] += uk * _cvtsh_ss(col[i]);
  }
  for (std::size_t i = 0; i < n; ++i) out[i] += bias;
}

#endif

// fp16 anywhere else: a 64K-entry table of the conversions.
void score_f16_table(const std::uint16_t* u, const std::uint16_t* q, std::size_t d, std::size_t n,
                     float bias, float* out) {
  const auto& table = half_table();
  std::fill(out, out + n, 0.0f);
  for (std::size_t k = 0; k < d; ++k) {
    const float uk = table[u[k]];
    const std::uint16_t* col = q + k * n;
    for (std::size_t i = 0; i < n; ++i) out[i] += uk * table[col[i]];
  }
  for (std::size_t i = 0; i < n; ++i) out[i] += bias;
}

}  // namespace

void score_f16(const std::uint16_t* u, const std::uint16_t* q, std::size_t d, std::size_t n,
               float bias, float* out) {
#ifdef RECPRESS_X86
  static const bool f16c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
                           __builtin_cpu_supports("fma");
  if (f16c) return score_f16_f16c(u, q, d, n, bias, out);
#endif
  score_f16_table(u, q, d, n, bias, out);
}

namespace {

// Values of one matrix, quantised as `dtype`, with per-row scales for int8.
struct Encoded {
  std::vector<std::uint8_t> data;
  std::vector<float> scales;
};

Encoded encode_matrix(const DenseMatrix& m, DType dtype, bool column_major) {
  if (m.values.size() != static_cast<std::size_t>(m.rows) * m.cols)
    throw ModelError("matrix of " + std::to_string(m.rows) + " x " + std::to_string(m.cols) +
                     " has " + std::to_string(m.values.size()) + " values");
  Encoded e;
  e.data.resize(m.values.size() * bytes_of(dtype));
  // Element (r, c) goes to position pos(r, c) of the stored order.
  const auto pos = [&](std::size_t r, std::size_t c) {
    return column_major ? c * m.rows + r : r * m.cols + c;
  };
  if (dtype == DType::kF32 || dtype == DType::kF16) {
    for (std::size_t r = 0; r < m.rows; ++r)
      for (std::size_t c = 0; c < m.cols; ++c) {
        const float v = m.values[r * m.cols + c];
        if (dtype == DType::kF32) {
          std::memcpy(e.data.data() + 4 * pos(r, c), &v, 4);
        } else {
          const std::uint16_t h = float_to_half(v);
          std::memcpy(e.data.data() + 2 * pos(r, c), &h, 2);
        }
      }
  } else {
    e.scales.resize(m.rows);
    for (std::uint32_t r = 0; r < m.rows; ++r) {
      const float* row = m.values.data() + static_cast<std::size_t>(r) * m.cols;
      float max_abs = 0;
      for (std::uint32_t c = 0; c < m.cols; ++c) max_abs = std::max(max_abs, std::fabs(row[c]));
      const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
      e.scales[r] = scale;
      for (std::uint32_t c = 0; c < m.cols; ++c) {
        const float q = std::clamp(std::nearbyint(row[c] / scale), -127.0f, 127.0f);
        e.data[pos(r, c)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(q));
      }
    }
  }
  return e;
}

flatbuffers::Offset<rpm::Matrix> build_matrix(flatbuffers::FlatBufferBuilder& fbb,
                                              const DenseMatrix& m, DType dtype,
                                              bool column_major) {
  const Encoded e = encode_matrix(m, dtype, column_major);
  fbb.ForceVectorAlignment(e.data.size(), 1, 16);  // aligned values: read in place
  const auto data = fbb.CreateVector(e.data);
  const auto scales = e.scales.empty() ? 0 : fbb.CreateVector(e.scales);
  return rpm::CreateMatrix(fbb, m.rows, m.cols, static_cast<rpm::DType>(dtype), data, scales,
                           column_major);
}

}  // namespace

std::string dtype_name(DType d) {
  return d == DType::kF32 ? "fp32" : d == DType::kF16 ? "fp16" : "int8";
}

DType parse_dtype(std::string_view s) {
  if (s == "fp32") return DType::kF32;
  if (s == "fp16") return DType::kF16;
  if (s == "int8") return DType::kI8;
  throw ModelError("unknown dtype '" + std::string(s) + "' (fp32, fp16, int8)");
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u)  // inf or NaN
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // subnormal half (or zero): value / 2^-24, rounded to nearest even
    float a;
    std::memcpy(&a, &abs, 4);
    const float scaled = a * 16777216.0f;  // 2^24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(scaled)));
  }
  // Normal: rebias the exponent, round the mantissa to 10 bits (nearest, ties to even).
  std::uint32_t m = abs + 0xc8000000u;  // exponent - 112 in the float's field
  m += 0x0fffu + ((m >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (m >> 13));
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  float out;
  if (exp == 0) {
    out = std::ldexp(static_cast<float>(mant), -24);
    if (sign) out = -out;
    return out;
  }
  std::uint32_t bits;
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  std::memcpy(&out, &bits, 4);
  return out;
}

namespace {

// The tower's widths chain: first layer (users, items) -> layers -> head.
void check_tower(const ModelContent& c) {
  if (c.mlp_items.cols != c.mlp_users.cols || c.mlp_users.rows != c.users.rows ||
      c.mlp_items.rows != c.items.rows)
    throw ModelError("the tower's user and item parts do not match (" +
                     std::to_string(c.mlp_users.rows) + " x " + std::to_string(c.mlp_users.cols) +
                     " and " + std::to_string(c.mlp_items.rows) + " x " +
                     std::to_string(c.mlp_items.cols) + ")");
  std::uint32_t width = c.mlp_users.cols;
  for (std::size_t l = 0; l < c.layers.size(); ++l) {
    const auto& layer = c.layers[l];
    if (layer.weight.cols != width || layer.bias.size() != layer.weight.rows)
      throw ModelError(
          "tower layer " + std::to_string(l + 2) + " is " + std::to_string(layer.weight.rows) +
          " x " + std::to_string(layer.weight.cols) + " with " + std::to_string(layer.bias.size()) +
          " biases after a layer of width " + std::to_string(width));
    width = layer.weight.rows;
  }
  if (c.head.size() != width)
    throw ModelError("the tower's head has " + std::to_string(c.head.size()) +
                     " weights for a last layer of width " + std::to_string(width));
}

}  // namespace

namespace {

// The ids as 32-bit integers if every one is a canonical decimal integer that prints back the same.
bool as_numbers(const std::vector<std::string>& ids, std::vector<std::int32_t>& out) {
  out.clear();
  for (const auto& id : ids) {
    if (id.empty() || id.size() > 11) return false;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(id.c_str(), &end, 10);
    if (errno != 0 || end != id.c_str() + id.size() || std::to_string(v) != id || v < INT32_MIN ||
        v > INT32_MAX)
      return false;
    out.push_back(static_cast<std::int32_t>(v));
  }
  return true;
}

}  // namespace

std::string encode_model(const ModelContent& c, DType dtype) {
  if (c.users.cols != c.items.cols)
    throw ModelError("user and item vectors differ in width (" + std::to_string(c.users.cols) +
                     " vs " + std::to_string(c.items.cols) + ")");
  if (c.user_ids.size() != c.users.rows || c.item_ids.size() != c.items.rows)
    throw ModelError("id maps do not match the matrices' rows");
  const bool tower = c.mlp_users.cols > 0;
  if (tower) check_tower(c);
  flatbuffers::FlatBufferBuilder fbb(1 << 16);
  const auto users = build_matrix(fbb, c.users, dtype, false);
  const auto items = build_matrix(fbb, c.items, dtype, true);
  flatbuffers::Offset<rpm::Matrix> mlp_users = 0, mlp_items = 0;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<rpm::Layer>>> layers = 0;
  flatbuffers::Offset<flatbuffers::Vector<float>> head = 0;
  if (tower) {
    mlp_users = build_matrix(fbb, c.mlp_users, dtype, false);
    mlp_items = build_matrix(fbb, c.mlp_items, dtype, true);
    std::vector<flatbuffers::Offset<rpm::Layer>> built;
    for (const auto& l : c.layers) {
      const auto w = build_matrix(fbb, l.weight, DType::kF32, false);
      built.push_back(rpm::CreateLayer(fbb, w, fbb.CreateVector(l.bias)));
    }
    layers = fbb.CreateVector(built);
    head = fbb.CreateVector(c.head);
  }
  // Ids as numbers when all of them are canonical integers ("42", not "042" or "4.2"), else
  // strings.
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> user_ids = 0,
                                                                                     item_ids = 0;
  flatbuffers::Offset<flatbuffers::Vector<std::int32_t>> user_numbers = 0, item_numbers = 0;
  std::vector<std::int32_t> numbers;
  if (as_numbers(c.user_ids, numbers))
    user_numbers = fbb.CreateVector(numbers);
  else
    user_ids = fbb.CreateVectorOfStrings(c.user_ids);
  if (as_numbers(c.item_ids, numbers))
    item_numbers = fbb.CreateVector(numbers);
  else
    item_ids = fbb.CreateVectorOfStrings(c.item_ids);
  flatbuffers::Offset<flatbuffers::Vector<std::uint32_t>> offsets = 0, seen = 0;
  if (!c.seen_offsets.empty()) {
    offsets = fbb.CreateVector(c.seen_offsets);
    seen = fbb.CreateVector(c.seen_items);
  }
  const auto model =
      rpm::CreateModel(fbb, fbb.CreateString(c.task), tower ? rpm::Kind_NCF : rpm::Kind_DOT,
                       fbb.CreateString(c.source_model), c.users.cols, users, items, c.bias,
                       user_ids, item_ids, offsets, seen, fbb.CreateString(c.metadata), mlp_users,
                       mlp_items, layers, head, user_numbers, item_numbers);
  rpm::FinishModelBuffer(fbb, model);
  const auto* payload = fbb.GetBufferPointer();
  const std::size_t n = fbb.GetSize();
  std::string out(kHeaderBytes, '\0');
  std::memcpy(out.data(), kMagic, 8);
  const std::uint32_t version = kFormatVersion;
  std::memcpy(out.data() + 8, &version, 4);
  const std::uint64_t sum = checksum(payload, n), size = n;
  std::memcpy(out.data() + 16, &sum, 8);
  std::memcpy(out.data() + 24, &size, 8);
  out.append(reinterpret_cast<const char*>(payload), n);
  return out;
}

// The bytes of a model: always a private, 8-byte aligned copy. The file is read once at open and
// never touched again, so whoever rewrites it in place (`cp new.rpm live.rpm`) cannot pull pages
// from under a running scorer: a read-only mapping of a file that shrinks turns the next access
// into SIGBUS. The copy costs one read of the file (docs/results.md, "loading a model").
struct Model::Storage {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::unique_ptr<std::uint64_t[]> owned;  // the bytes (not zeroed first: they are read over)
  std::deque<std::string> decoded_ids;  // numeric ids as text (a deque: views stay valid)
};

std::size_t Model::file_bytes() const {
  return storage_->size;
}

namespace {

// Reads a whole regular file into 8-byte aligned words; `size` gets its length in bytes. A file
// that changes size while being read is refused (a concurrent writer; try again once it is done).
std::unique_ptr<std::uint64_t[]> read_file_aligned(const std::string& path, std::size_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw ModelError(path + ": not a regular file");
  size = static_cast<std::size_t>(st.st_size);
  const std::size_t capacity = ((size + 7) / 8 + 1) * 8;  // one spare word to see growth
  std::unique_ptr<std::uint64_t[]> words(new std::uint64_t[capacity / 8]);
  auto* out = reinterpret_cast<char*>(words.get());
  std::size_t got = 0;
  while (got < capacity) {
    const ssize_t n = ::read(fd, out + got, capacity - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ModelError(path + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != size)
    throw ModelError(path + ": the file changed size while being read (" + std::to_string(size) +
                     " -> " + std::to_string(got) +
                     " bytes); write a new file and rename it over the old one");
  return words;
}

}  // namespace

Model Model::open(const std::string& path) {
  auto storage = std::make_shared<Storage>();
  storage->owned = read_file_aligned(path, storage->size);
  storage->data = reinterpret_cast<const std::uint8_t*>(storage->owned.get());
  return parse(std::move(storage), path);
}

Model Model::from_bytes(std::string_view bytes, const std::string& name) {
  auto storage = std::make_shared<Storage>();
  storage->owned.reset(new std::uint64_t[(bytes.size() + 7) / 8 + 1]());
  if (!bytes.empty()) std::memcpy(storage->owned.get(), bytes.data(), bytes.size());
  storage->data = reinterpret_cast<const std::uint8_t*>(storage->owned.get());
  storage->size = bytes.size();
  return parse(std::move(storage), name);
}

Model Model::parse(std::shared_ptr<Storage> storage, const std::string& name) {
  auto fail = [&](const std::string& why) { return ModelError(name + ": " + why); };
  const std::uint8_t* base = storage->data;
  const std::size_t size = storage->size;
  if (size < kHeaderBytes)
    throw fail("truncated: " + std::to_string(size) + " bytes, a model file has at least " +
               std::to_string(kHeaderBytes));
  if (std::memcmp(base, kMagic, 8) != 0) throw fail("not a RecPress model file (bad magic)");
  const auto version = read_le<std::uint32_t>(base + 8);
  if (version != kFormatVersion)
    throw fail("format version " + std::to_string(version) + ", this runtime reads version " +
               std::to_string(kFormatVersion));
  if (read_le<std::uint32_t>(base + 12) != 0) throw fail("malformed header (reserved bytes set)");
  const auto payload_size = read_le<std::uint64_t>(base + 24);
  if (payload_size != size - kHeaderBytes)
    throw fail("truncated or extended: the header announces " + std::to_string(payload_size) +
               " bytes of model, the file has " + std::to_string(size - kHeaderBytes));
  const std::uint8_t* payload = base + kHeaderBytes;
  if (checksum(payload, payload_size) != read_le<std::uint64_t>(base + 16))
    throw fail("checksum mismatch: the file is corrupted");
  flatbuffers::Verifier verifier(payload, payload_size);
  if (!rpm::VerifyModelBuffer(verifier)) throw fail("malformed model structure");
  const rpm::Model* m = rpm::GetModel(payload);

  Model out;
  if (m->task() == nullptr || m->task()->str() != "topn")
    throw fail("task '" + (m->task() ? m->task()->str() : std::string()) +
               "' is not supported by this runtime (topn)");
  if (m->kind() != rpm::Kind_DOT && m->kind() != rpm::Kind_NCF) throw fail("unknown model kind");
  const bool tower = m->kind() == rpm::Kind_NCF;
  const rpm::Matrix* users = m->users();
  const rpm::Matrix* items = m->items();
  if (users == nullptr || items == nullptr || users->data() == nullptr || items->data() == nullptr)
    throw fail("missing user or item vectors");
  if (users->column_major() || !items->column_major())
    throw fail("unsupported layout (users row-major, items column-major expected)");
  if (users->dtype() != items->dtype() || users->dtype() > rpm::DType_I8)
    throw fail("inconsistent or unknown dtype");
  out.dtype_ = static_cast<DType>(users->dtype());
  out.dim_ = m->dim();
  if ((out.dim_ == 0 && !tower) || users->cols() != out.dim_ || items->cols() != out.dim_)
    throw fail("vector widths disagree with dim " + std::to_string(out.dim_));
  out.num_users_ = users->rows();
  out.num_items_ = items->rows();
  const std::size_t bytes = bytes_of(out.dtype_);
  std::vector<const rpm::Matrix*> embeddings = {users, items};
  if (tower) {
    const rpm::Matrix* mu = m->mlp_users();
    const rpm::Matrix* mi = m->mlp_items();
    if (mu == nullptr || mi == nullptr || mu->data() == nullptr || mi->data() == nullptr)
      throw fail("an NCF model without its tower's first layer");
    if (mu->column_major() || !mi->column_major() || mu->dtype() != users->dtype() ||
        mi->dtype() != users->dtype())
      throw fail("the tower's first layer has another layout or dtype than the embeddings");
    if (mu->rows() != out.num_users_ || mi->rows() != out.num_items_ || mu->cols() == 0 ||
        mi->cols() != mu->cols() || mu->cols() > kMaxTowerWidth)
      throw fail("the tower's first layer does not match the users, items or itself");
    embeddings.push_back(mu);
    embeddings.push_back(mi);
    out.tower_input_ = mu->cols();
  }
  for (const rpm::Matrix* x : embeddings) {
    if (x->data()->size() != static_cast<std::size_t>(x->rows()) * x->cols() * bytes)
      throw fail("a matrix holds " + std::to_string(x->data()->size()) + " bytes, its shape " +
                 std::to_string(x->rows()) + " x " + std::to_string(x->cols()) + " needs " +
                 std::to_string(static_cast<std::size_t>(x->rows()) * x->cols() * bytes));
    if (reinterpret_cast<std::uintptr_t>(x->data()->data()) % bytes != 0)
      throw fail("misaligned values");
    if (out.dtype_ == DType::kI8 && (x->scales() == nullptr || x->scales()->size() != x->rows()))
      throw fail("int8 matrix without one scale per row");
  }
  out.users_ = users->data()->data();
  out.items_ = items->data()->data();
  if (out.dtype_ == DType::kI8) {
    out.user_scales_ = users->scales()->data();
    out.item_scales_ = items->scales()->data();
  }
  if (tower) {
    out.mlp_users_ = m->mlp_users()->data()->data();
    out.mlp_items_ = m->mlp_items()->data()->data();
    if (out.dtype_ == DType::kI8) {
      out.mlp_user_scales_ = m->mlp_users()->scales()->data();
      out.mlp_item_scales_ = m->mlp_items()->scales()->data();
    }
    std::uint32_t width = out.tower_input_;
    if (m->layers() != nullptr) {
      for (const rpm::Layer* l : *m->layers()) {
        const std::string which = "tower layer " + std::to_string(out.layers_.size() + 2);
        const rpm::Matrix* w = l->weight();
        if (w == nullptr || w->data() == nullptr || l->bias() == nullptr)
          throw fail(which + " is missing its weights or biases");
        if (w->dtype() != rpm::DType_F32 || w->column_major() || w->cols() != width ||
            w->rows() == 0 || w->rows() > kMaxTowerWidth || l->bias()->size() != w->rows() ||
            w->data()->size() != static_cast<std::size_t>(w->rows()) * w->cols() * 4 ||
            reinterpret_cast<std::uintptr_t>(w->data()->data()) % 4 != 0)
          throw fail(which + " does not fit the layer before it (width " + std::to_string(width) +
                     ") or is not an aligned fp32 row-major matrix with one bias per row");
        out.layers_.push_back({w->cols(), w->rows(),
                               reinterpret_cast<const float*>(w->data()->data()),
                               l->bias()->data()});
        width = w->rows();
      }
    }
    if (m->head() == nullptr || m->head()->size() != width)
      throw fail("the tower's head does not match its last layer (width " + std::to_string(width) +
                 ")");
    out.head_ = m->head()->data();
  }
  out.bias_ = m->bias();
  // Raw ids: strings in place (zero-copy), or numbers printed once into the storage.
  auto read_ids = [&](const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* strings,
                      const flatbuffers::Vector<std::int32_t>* numbers, std::uint32_t count,
                      std::vector<std::string_view>& ids) {
    if (strings != nullptr && numbers == nullptr && strings->size() == count) {
      for (const auto* s : *strings) ids.emplace_back(s->c_str(), s->size());
    } else if (strings == nullptr && numbers != nullptr && numbers->size() == count) {
      for (const auto n : *numbers)
        ids.emplace_back(storage->decoded_ids.emplace_back(std::to_string(n)));
    } else {
      throw fail("the id maps do not match the number of users and items");
    }
  };
  read_ids(m->user_ids(), m->user_numeric_ids(), out.num_users_, out.user_ids_);
  read_ids(m->item_ids(), m->item_numeric_ids(), out.num_items_, out.item_ids_);
  for (std::uint32_t u = 0; u < out.num_users_; ++u)
    if (!out.user_index_.emplace(out.user_ids_[u], u).second)
      throw fail("user id '" + std::string(out.user_ids_[u]) + "' appears twice");
  if (m->seen_offsets() != nullptr) {
    const auto* off = m->seen_offsets();
    const auto* seen = m->seen_items();
    if (seen == nullptr || off->size() != out.num_users_ + 1 || off->Get(0) != 0 ||
        off->Get(out.num_users_) != seen->size())
      throw fail("malformed seen-items table");
    for (std::uint32_t u = 0; u < out.num_users_; ++u)
      if (off->Get(u) > off->Get(u + 1)) throw fail("malformed seen-items table");
    for (const auto i : *seen)
      if (i >= out.num_items_) throw fail("seen-items table names item " + std::to_string(i));
    out.seen_offsets_ = off->data();
    out.seen_items_ = seen->data();
  }
  if (m->source_model() != nullptr) out.source_model_ = m->source_model()->str();
  if (m->metadata() != nullptr) out.metadata_ = m->metadata()->str();
  out.storage_ = std::move(storage);
  return out;
}

std::optional<std::uint32_t> Model::user_index(std::string_view raw_id) const {
  const auto it = user_index_.find(raw_id);
  if (it == user_index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::uint32_t> Model::item_popularity() const {
  std::vector<std::uint32_t> counts;
  if (!has_seen()) return counts;
  counts.assign(num_items_, 0);
  for (std::uint32_t j = 0; j < seen_offsets_[num_users_]; ++j) ++counts[seen_items_[j]];
  return counts;
}

std::string_view Model::user_id(std::uint32_t index) const {
  return user_ids_.at(index);
}
std::string_view Model::item_id(std::uint32_t index) const {
  return item_ids_.at(index);
}

namespace {

// Row `r` of a row-major matrix as floats.
void row_as_float(const std::uint8_t* data, DType dtype, const float* scales, std::uint32_t r,
                  std::uint32_t cols, float* out) {
  const std::size_t at = static_cast<std::size_t>(r) * cols;
  for (std::uint32_t c = 0; c < cols; ++c) {
    if (dtype == DType::kF32)
      out[c] = reinterpret_cast<const float*>(data)[at + c];
    else if (dtype == DType::kF16)
      out[c] = half_table()[reinterpret_cast<const std::uint16_t*>(data)[at + c]];
    else
      out[c] = scales[r] * static_cast<float>(reinterpret_cast<const std::int8_t*>(data)[at + c]);
  }
}

}  // namespace

void Model::user_vector(std::uint32_t user, float* out) const {
  if (user >= num_users_) throw ModelError("user index " + std::to_string(user) + " out of range");
  row_as_float(users_, dtype_, user_scales_, user, dim_, out);
}

void Model::item_vector(std::uint32_t item, float* out) const {
  if (item >= num_items_) throw ModelError("item index " + std::to_string(item) + " out of range");
  const std::size_t n = num_items_;
  for (std::uint32_t c = 0; c < dim_; ++c) {  // column-major: element (item, c) at c * n + item
    const std::size_t at = c * n + item;
    if (dtype_ == DType::kF32)
      out[c] = reinterpret_cast<const float*>(items_)[at];
    else if (dtype_ == DType::kF16)
      out[c] = half_table()[reinterpret_cast<const std::uint16_t*>(items_)[at]];
    else
      out[c] =
          item_scales_[item] * static_cast<float>(reinterpret_cast<const std::int8_t*>(items_)[at]);
  }
}

std::span<const std::uint32_t> Model::seen(std::uint32_t user) const {
  if (!has_seen() || user >= num_users_) return {};
  return {seen_items_ + seen_offsets_[user], seen_items_ + seen_offsets_[user + 1]};
}

std::uint64_t Model::parameter_count() const {
  std::uint64_t n = static_cast<std::uint64_t>(num_users_ + num_items_) * (dim_ + tower_input_) + 1;
  for (const auto& l : layers_) n += static_cast<std::uint64_t>(l.in + 1) * l.out;
  if (has_tower()) n += layers_.empty() ? tower_input_ : layers_.back().out;
  return n;
}

std::uint64_t Model::flops_per_item() const {
  std::uint64_t f = 2ULL * dim_ + 1;  // dot product + bias
  if (!has_tower()) return f;
  f += 2ULL * tower_input_;  // first layer: user part + item part, ReLU
  for (const auto& l : layers_) f += 2ULL * l.in * l.out + 2ULL * l.out;  // GEMV + bias + ReLU
  f += 2ULL * (layers_.empty() ? tower_input_ : layers_.back().out);      // head
  return f;
}

namespace {

// x[c][j] = relu(u[c] + items[c][j0 + j]) for a block of m items of a column-major matrix of n
// items: the tower's first layer, one addition per unit.
__attribute__((target_clones("avx2", "default"))) void first_layer(
    const float* u, const std::uint8_t* items, DType dtype, const float* scales, std::size_t width,
    std::size_t n, std::size_t j0, std::size_t m, float* x) {
  for (std::size_t c = 0; c < width; ++c) {
    float* row = x + c * kTowerBlock;
    const std::size_t at = c * n + j0;
    if (dtype == DType::kF32) {
      const float* col = reinterpret_cast<const float*>(items) + at;
      for (std::size_t j = 0; j < m; ++j) row[j] = std::max(0.0f, u[c] + col[j]);
    } else if (dtype == DType::kF16) {
      const auto* col = reinterpret_cast<const std::uint16_t*>(items) + at;
      const auto& table = half_table();
      for (std::size_t j = 0; j < m; ++j) row[j] = std::max(0.0f, u[c] + table[col[j]]);
    } else {
      const auto* col = reinterpret_cast<const std::int8_t*>(items) + at;
      const float* s = scales + j0;
      for (std::size_t j = 0; j < m; ++j)
        row[j] = std::max(0.0f, u[c] + s[j] * static_cast<float>(col[j]));
    }
  }
}

// y[k][j] = relu(b[k] + sum_c w[k][c] x[c][j]) over a block of items (inner loop across items).
__attribute__((target_clones("avx2", "default"))) void dense_relu(const float* w, const float* b,
                                                                  std::size_t in, std::size_t out,
                                                                  const float* x, std::size_t m,
                                                                  float* y) {
  for (std::size_t k = 0; k < out; ++k) {
    float* yk = y + k * kTowerBlock;
    std::fill(yk, yk + m, b[k]);
    const float* wk = w + k * in;
    for (std::size_t c = 0; c < in; ++c) {
      const float wkc = wk[c];
      const float* xc = x + c * kTowerBlock;
      for (std::size_t j = 0; j < m; ++j) yk[j] += wkc * xc[j];
    }
    for (std::size_t j = 0; j < m; ++j) yk[j] = std::max(0.0f, yk[j]);
  }
}

}  // namespace

// The tower's output for every item, added to out[]: items in blocks of kTowerBlock, each block
// pushed through all layers with the activations held feature-major (so every loop vectorises
// across items).
void Model::add_tower(std::uint32_t user, float* out) const {
  thread_local std::vector<float> u, a, b;
  std::size_t widest = tower_input_;
  for (const auto& l : layers_) widest = std::max<std::size_t>(widest, l.out);
  u.resize(tower_input_);
  a.resize(widest * kTowerBlock);
  b.resize(widest * kTowerBlock);
  row_as_float(mlp_users_, dtype_, mlp_user_scales_, user, tower_input_, u.data());
  const std::size_t n = num_items_;
  for (std::size_t j0 = 0; j0 < n; j0 += kTowerBlock) {
    const std::size_t m = std::min(kTowerBlock, n - j0);
    first_layer(u.data(), mlp_items_, dtype_, mlp_item_scales_, tower_input_, n, j0, m, a.data());
    float* x = a.data();
    float* y = b.data();
    std::size_t width = tower_input_;
    for (const auto& l : layers_) {
      dense_relu(l.weight, l.bias, l.in, l.out, x, m, y);
      std::swap(x, y);
      width = l.out;
    }
    for (std::size_t k = 0; k < width; ++k) {
      const float h = head_[k];
      const float* xk = x + k * kTowerBlock;
      for (std::size_t j = 0; j < m; ++j) out[j0 + j] += h * xk[j];
    }
  }
}

void Model::score_all(std::uint32_t user, float* out) const {
  if (user >= num_users_) throw ModelError("user index " + std::to_string(user) + " out of range");
  const std::size_t d = dim_, n = num_items_;
  if (dtype_ == DType::kF32) {
    score_f32(reinterpret_cast<const float*>(users_) + user * d,
              reinterpret_cast<const float*>(items_), d, n, bias_, out);
  } else if (dtype_ == DType::kF16) {
    score_f16(reinterpret_cast<const std::uint16_t*>(users_) + user * d,
              reinterpret_cast<const std::uint16_t*>(items_), d, n, bias_, out);
  } else {
    score_i8(reinterpret_cast<const std::int8_t*>(users_) + user * d,
             reinterpret_cast<const std::int8_t*>(items_), d, n, bias_, user_scales_[user],
             item_scales_, out);
  }
  if (has_tower()) add_tower(user, out);
}

std::vector<std::pair<std::uint32_t, float>> Model::recommend(std::uint32_t user, std::size_t k,
                                                              bool exclude_seen) const {
  thread_local std::vector<float> scores;
  thread_local std::vector<std::uint8_t> mask;
  scores.resize(num_items_);
  score_all(user, scores.data());
  mask.clear();
  if (exclude_seen) {
    if (!has_seen())
      throw ModelError("this model file has no seen-items table (export it with --data)");
    mask.assign(num_items_, 0);
    for (std::uint32_t j = seen_offsets_[user]; j < seen_offsets_[user + 1]; ++j)
      mask[seen_items_[j]] = 1;
  }
  std::vector<std::pair<std::uint32_t, float>> out;
  for (const auto i : top_k(scores, k, mask))
    out.emplace_back(static_cast<std::uint32_t>(i), scores[static_cast<std::size_t>(i)]);
  return out;
}

}  // namespace recpress::runtime
