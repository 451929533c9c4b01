// Internal to the runtime: the FlatBuffer writers every model kind's encoder shares (encode.cc).
#pragma once

#include <cstdint>
#include <string>

#include "recpress_model_generated.h"
#include "runtime/model.h"

namespace recpress::runtime {

// A matrix quantised as `dtype` (int8: symmetric per-row scales), row- or column-major.
flatbuffers::Offset<rpm::Matrix> build_matrix(flatbuffers::FlatBufferBuilder& fbb,
                                              const DenseMatrix& m, DType dtype, bool column_major);
// The file's bytes: the 32-byte header (magic, version, checksum, size) + the finished buffer.
std::string with_header(const flatbuffers::FlatBufferBuilder& fbb, std::uint32_t version);

}  // namespace recpress::runtime
