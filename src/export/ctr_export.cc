#include "export/ctr_export.h"

#include "core/atomic_file.h"
#include "core/errors.h"
#include "export/rpm_export.h"
#include "train/ctr_trainer.h"

namespace recpress {

namespace {

// The first `rows` rows of a [vocab + 1, d] table (the last row is the padding id's, always 0).
runtime::DenseMatrix without_padding(const torch::Tensor& table, std::int64_t rows) {
  return dense_matrix(table.narrow(0, 0, rows));
}

}  // namespace

runtime::CtrContent ctr_export_content(CtrModel& model, const CtrEncoder& encoder) {
  const CtrParts parts = model.parts();
  if (parts.linear == nullptr && parts.embedding == nullptr)
    throw Error("model '" + model.spec().to_string() + "' cannot be exported to the runtime");
  torch::NoGradGuard guard;
  runtime::CtrContent c;
  c.source_model = model.spec().to_string();
  const auto& features = encoder.features();
  c.features = features.fields();
  c.criteo_numeric = features.criteo_numeric();
  c.max_tokens = features.max_tokens();
  const std::int64_t vocab = features.vocab_size();
  if (parts.linear != nullptr) {
    c.has_linear = true;
    c.linear = float_values(parts.linear->weights->weight.narrow(0, 0, vocab));
    c.dense_linear = float_values(parts.linear->dense_weights);
    c.bias = parts.linear->bias.item<float>();
  }
  if (parts.embedding != nullptr) {
    c.embedding = without_padding(parts.embedding->table->weight, vocab);
    c.dense_vectors = dense_matrix(parts.embedding->dense_vectors);
  }
  c.fm = parts.fm;
  if (parts.deep != nullptr) {
    c.has_deep = true;
    for (const auto& layer : *parts.deep->deep->layers) {
      const auto* linear = layer->as<torch::nn::Linear>();
      c.deep.push_back({dense_matrix(linear->weight), float_values(linear->bias)});
    }
    c.deep_head = float_values(parts.deep->output->weight);
    c.deep_bias = parts.deep->output->bias.item<float>();
  }
  return c;
}

std::size_t export_ctr_model(const std::string& checkpoint_path, const std::string& output_path,
                             runtime::DType dtype) {
  const CtrCheckpoint ck = load_ctr_checkpoint(checkpoint_path);
  std::string bytes;
  try {
    runtime::CtrContent c = ctr_export_content(*ck.model, ck.encoder);
    c.metadata = export_metadata(ck.header, c.source_model, dtype, checkpoint_path);
    bytes = runtime::encode_ctr_model(c, dtype);
  } catch (const runtime::ModelError& e) {
    throw Error(checkpoint_path + ": " + e.what());
  }
  write_file_atomic(output_path, bytes);
  return bytes.size();
}

}  // namespace recpress
