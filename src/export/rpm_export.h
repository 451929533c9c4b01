// Export a trained top-N model to the runtime's .rpm file (schema/recpress_model.fbs).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "runtime/model.h"

namespace recpress {

struct ExportOptions {
  runtime::DType dtype = runtime::DType::kF32;
  // If set, the users' known interactions go into the file (for --exclude-seen); its id maps must
  // equal the checkpoint's.
  const Dataset* seen_from = nullptr;
};

// The runtime content of the checkpoint at `path`: MF as is, GMF with its output weights folded
// into the user vectors (h . (p * q) + b = <p * h, q> + b), MLP and NeuMF with their tower's first
// layer split into per-user and per-item vectors (NeuMF's GMF half folded as GMF). Other models
// throw Error.
runtime::ModelContent export_content(const std::string& checkpoint_path,
                                     const ExportOptions& options);
// FLOPs to score one (user, item) pair with the checkpoint's model, from its runtime encoding
// (0 if it cannot be exported). The same count for a LibTorch teacher and a shipped student.
double checkpoint_flops_per_item(const std::string& checkpoint_path);
// export_content + encode + atomic write. Returns the file's size in bytes.
std::size_t export_model(const std::string& checkpoint_path, const std::string& output_path,
                         const ExportOptions& options);

// Shared by the exporters of every task: a 2-D tensor as a float matrix, any tensor's values, and
// the file's metadata JSON (model, dtype, checkpoint, data and its checksum, the last validation
// scores) from a checkpoint's header.
runtime::DenseMatrix dense_matrix(const torch::Tensor& t);
std::vector<float> float_values(const torch::Tensor& t);
std::string export_metadata(const nlohmann::json& header, const std::string& source_model,
                            runtime::DType dtype, const std::string& checkpoint_path);

}  // namespace recpress
