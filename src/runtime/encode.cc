// encode_model(): the .rpm bytes of a model an exporter hands over as float matrices (header +
// FlatBuffer; int8 with per-row scales, fp16, item matrices column-major).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "recpress_model_generated.h"
#include "runtime/encode_util.h"
#include "runtime/internal.h"

namespace recpress::runtime {

EncodedMatrix encode_matrix(const DenseMatrix& m, DType dtype, bool column_major) {
  if (m.values.size() != static_cast<std::size_t>(m.rows) * m.cols)
    throw ModelError("matrix of " + std::to_string(m.rows) + " x " + std::to_string(m.cols) +
                     " has " + std::to_string(m.values.size()) + " values");
  EncodedMatrix e;
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

std::string with_header(const flatbuffers::FlatBufferBuilder& fbb, std::uint32_t version) {
  const auto* payload = fbb.GetBufferPointer();
  const std::size_t n = fbb.GetSize();
  std::string out(kHeaderBytes, '\0');
  std::memcpy(out.data(), kMagic, 8);
  std::memcpy(out.data() + 8, &version, 4);
  const std::uint64_t sum = checksum(payload, n), size = n;
  std::memcpy(out.data() + 16, &sum, 8);
  std::memcpy(out.data() + 24, &size, 8);
  out.append(reinterpret_cast<const char*>(payload), n);
  return out;
}

flatbuffers::Offset<rpm::Matrix> build_matrix(flatbuffers::FlatBufferBuilder& fbb,
                                              const DenseMatrix& m, DType dtype,
                                              bool column_major) {
  const EncodedMatrix e = encode_matrix(m, dtype, column_major);
  fbb.ForceVectorAlignment(e.data.size(), 1, 16);  // aligned values: read in place
  const auto data = fbb.CreateVector(e.data);
  const auto scales = e.scales.empty() ? 0 : fbb.CreateVector(e.scales);
  return rpm::CreateMatrix(fbb, m.rows, m.cols, static_cast<rpm::DType>(dtype), data, scales,
                           column_major);
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

namespace {}  // namespace

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
  return with_header(fbb, kFirstVersion);
}

}  // namespace recpress::runtime
