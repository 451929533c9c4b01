#include "export/rpm_export.h"

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "models/topn/gmf.h"
#include "models/topn/mlp.h"
#include "models/topn/neumf.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace recpress {

runtime::DenseMatrix dense_matrix(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kFloat).contiguous();
  runtime::DenseMatrix m;
  m.rows = static_cast<std::uint32_t>(c.size(0));
  m.cols = static_cast<std::uint32_t>(c.size(1));
  m.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return m;
}

std::vector<float> float_values(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::string export_metadata(const nlohmann::json& header, const std::string& source_model,
                            runtime::DType dtype, const std::string& checkpoint_path) {
  nlohmann::json meta = {{"source_model", source_model},
                         {"dtype", runtime::dtype_name(dtype)},
                         {"checkpoint", checkpoint_path}};
  for (const char* key : {"task", "data", "data_checksum"})
    if (header.contains(key)) meta[key] = header.at(key);
  if (header.contains("state") && header["state"].contains("history") &&
      !header["state"]["history"].empty())
    meta["valid_at_export"] = header["state"]["history"].back().value("valid", nlohmann::json{});
  return meta.dump();
}

namespace {

runtime::DenseMatrix dense(const torch::Tensor& t) {
  return dense_matrix(t);
}

runtime::DenseMatrix empty_columns(std::int64_t rows) {
  runtime::DenseMatrix m;
  m.rows = static_cast<std::uint32_t>(rows);
  return m;
}

// NCF's tower: W [p; q] + b = (W_u p + b) + W_i q, so the first layer is stored as one vector per
// user and one per item (exact; the runtime adds them), the other layers and the head as they are.
void add_tower(runtime::ModelContent& c, TowerImpl& tower, const torch::Tensor& user_embedding,
               const torch::Tensor& item_embedding, const torch::Tensor& head,
               const torch::Tensor& bias) {
  const auto d = user_embedding.size(1);
  const auto& first = tower.layers.at(0);
  c.mlp_users = dense(torch::addmm(first->bias, user_embedding, first->weight.narrow(1, 0, d).t()));
  c.mlp_items = dense(torch::mm(item_embedding, first->weight.narrow(1, d, d).t()));
  for (std::size_t l = 1; l < tower.layers.size(); ++l) {
    const auto b = tower.layers[l]->bias.detach().contiguous();
    c.layers.push_back({dense(tower.layers[l]->weight),
                        std::vector<float>(b.data_ptr<float>(), b.data_ptr<float>() + b.numel())});
  }
  const auto hc = head.detach().contiguous();
  c.head.assign(hc.data_ptr<float>(), hc.data_ptr<float>() + hc.numel());
  if (bias.defined()) c.bias = bias.item<float>();
}

}  // namespace

runtime::ModelContent export_content(const std::string& checkpoint_path,
                                     const ExportOptions& options) {
  const Checkpoint ck = read_checkpoint(checkpoint_path);
  const TopNModelPtr model = load_topn_checkpoint(checkpoint_path);
  torch::NoGradGuard guard;
  runtime::ModelContent c;
  c.source_model = model->spec().to_string();
  if (auto dot = model->as_dot_product()) {
    // MF, and the models that are a dot product once trained (LightGCN's propagated embeddings,
    // an autoencoder's user codes and decoder): the runtime scores them as MF; what produced the
    // user vectors (a graph, an encoder) is computed once here and not shipped.
    c.users = dense(dot->first);
    c.items = dense(dot->second);
  } else if (auto* gmf = dynamic_cast<GMFImpl*>(model.get())) {
    c.users = dense(gmf->user_embedding->weight * gmf->predict->weight.view({1, -1}));
    c.items = dense(gmf->item_embedding->weight);
    if (gmf->predict->bias.defined()) c.bias = gmf->predict->bias.item<float>();
  } else if (auto* mlp = dynamic_cast<MLPImpl*>(model.get())) {
    c.users = empty_columns(mlp->user_embedding->weight.size(0));
    c.items = empty_columns(mlp->item_embedding->weight.size(0));
    add_tower(c, *mlp->tower, mlp->user_embedding->weight, mlp->item_embedding->weight,
              mlp->predict->weight.view({-1}), mlp->predict->bias);
  } else if (auto* neumf = dynamic_cast<NeuMFImpl*>(model.get())) {
    // GMF half folded as for GMF; the head's remaining weights go to the tower.
    const auto d = neumf->gmf_user->weight.size(1);
    const auto h = neumf->predict->weight.view({-1});
    c.users = dense(neumf->gmf_user->weight * h.narrow(0, 0, d).view({1, -1}));
    c.items = dense(neumf->gmf_item->weight);
    add_tower(c, *neumf->tower, neumf->mlp_user->weight, neumf->mlp_item->weight,
              h.narrow(0, d, h.size(0) - d), neumf->predict->bias);
  } else {
    throw Error(checkpoint_path +
                ": the runtime serves mf, gmf, mlp, neumf, lightgcn, cdae, multvae and ecae; " +
                c.source_model + " cannot be exported");
  }
  c.user_ids = ck.header.at("user_ids").get<std::vector<std::string>>();
  c.item_ids = ck.header.at("item_ids").get<std::vector<std::string>>();
  if (options.seen_from != nullptr) {
    const Dataset& d = *options.seen_from;
    if (d.users.raw_ids() != c.user_ids || d.items.raw_ids() != c.item_ids)
      throw Error(checkpoint_path + " was trained on other data than " + d.name +
                  " (the id maps differ)");
    std::vector<std::vector<std::uint32_t>> rows(c.user_ids.size());
    for (const auto& x : d.interactions)
      rows[static_cast<std::size_t>(x.user)].push_back(static_cast<std::uint32_t>(x.item));
    c.seen_offsets.push_back(0);
    for (auto& r : rows) {
      std::sort(r.begin(), r.end());
      r.erase(std::unique(r.begin(), r.end()), r.end());
      c.seen_items.insert(c.seen_items.end(), r.begin(), r.end());
      c.seen_offsets.push_back(static_cast<std::uint32_t>(c.seen_items.size()));
    }
  }
  c.metadata = export_metadata(ck.header, c.source_model, options.dtype, checkpoint_path);
  return c;
}

double checkpoint_flops_per_item(const std::string& checkpoint_path) {
  try {
    return static_cast<double>(
        runtime::Model::from_bytes(
            runtime::encode_model(export_content(checkpoint_path, {}), runtime::DType::kF32))
            .flops_per_item());
  } catch (const std::exception&) {
    return 0;
  }
}

std::size_t export_model(const std::string& checkpoint_path, const std::string& output_path,
                         const ExportOptions& options) {
  std::string bytes;
  try {
    bytes = runtime::encode_model(export_content(checkpoint_path, options), options.dtype);
  } catch (const runtime::ModelError& e) {
    throw Error(checkpoint_path + ": " + e.what());
  }
  write_file_atomic(output_path, bytes);
  return bytes.size();
}

}  // namespace recpress
