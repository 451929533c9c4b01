// Internal to the runtime: the FlatBuffer writers every model kind's encoder shares (encode.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recpress_model_generated.h"
#include "runtime/model.h"

namespace recpress::runtime {

// Values of one matrix, quantised as `dtype`, with per-row scales for int8.
struct EncodedMatrix {
  std::vector<std::uint8_t> data;
  std::vector<float> scales;
};
EncodedMatrix encode_matrix(const DenseMatrix& m, DType dtype, bool column_major);

// A matrix quantised as `dtype` (int8: symmetric per-row scales), row- or column-major.
flatbuffers::Offset<rpm::Matrix> build_matrix(flatbuffers::FlatBufferBuilder& fbb,
                                              const DenseMatrix& m, DType dtype, bool column_major);
// The ids or tokens as 32-bit integers if every one is a canonical decimal integer that prints
// back the same ("42", not "042" or "+42"): stored so, they take a third of the bytes.
bool as_numbers(const std::vector<std::string>& ids, std::vector<std::int32_t>& out);
// The file's bytes: the 32-byte header (magic, version, checksum, size) + the finished buffer.
std::string with_header(const flatbuffers::FlatBufferBuilder& fbb, std::uint32_t version);

}  // namespace recpress::runtime
