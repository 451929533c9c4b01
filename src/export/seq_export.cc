#include "export/seq_export.h"

#include <map>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "export/rpm_export.h"
#include "models/seq/adarec.h"
#include "train/checkpoint.h"
#include "train/seq_trainer.h"

namespace recpress {

namespace {

// The model's parameters by name ("blocks.0.attention.query.weight"); a missing one is an Error
// naming the model.
class Parameters {
 public:
  explicit Parameters(SeqModel& model) : model_(model.spec().to_string()) {
    for (const auto& p : model.named_parameters()) values_.emplace(p.key(), p.value().detach());
  }
  const torch::Tensor& get(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end())
      throw Error("model '" + model_ + "' has no parameter '" + name + "' to export");
    return it->second;
  }
  runtime::LinearWeights linear(const std::string& prefix) const {
    return {dense_matrix(get(prefix + ".weight")), float_values(get(prefix + ".bias"))};
  }
  runtime::NormWeights norm(const std::string& prefix) const {
    return {float_values(get(prefix + ".weight")), float_values(get(prefix + ".bias"))};
  }

 private:
  std::string model_;
  std::map<std::string, torch::Tensor> values_;
};

runtime::TTCores tt_cores(const TTEmbeddingImpl& tt) {
  const auto& s = tt.shape();
  runtime::TTCores c;
  for (std::size_t k = 0; k < 3; ++k) {
    c.rows[k] = static_cast<std::uint32_t>(s.rows[k]);
    c.dims[k] = static_cast<std::uint32_t>(s.dims[k]);
  }
  c.rank = static_cast<std::uint32_t>(s.rank);
  c.stp = static_cast<std::uint32_t>(s.stp);
  c.core1 = float_values(tt.core1.detach().reshape({-1}));
  c.core2 = float_values(tt.core2.detach().reshape({-1}));
  c.core3 = float_values(tt.core3.detach().reshape({-1}));
  return c;
}

// AdaRec's derived cells (a model still searching is refused: derive it first).
std::vector<runtime::CellWeights> adarec_cells(const AdaRecImpl& model, const Parameters& p) {
  if (model.searching())
    throw Error("model '" + model.spec().to_string() +
                "' is the search space, not a student: export its derived architecture '" +
                model.derived_spec() + "' after training it");
  const auto ops = model.architecture();
  const auto edges = runtime::cell_edges(static_cast<std::uint32_t>(model.nodes()));
  std::vector<runtime::CellWeights> cells;
  for (std::size_t c = 0; c < ops.size(); ++c) {
    const std::string prefix = "cells." + std::to_string(c) + ".";
    runtime::CellWeights cell;
    cell.nodes = static_cast<std::uint32_t>(model.nodes());
    for (std::size_t e = 0; e < edges.size(); ++e) {
      runtime::CellEdgeWeights edge{edges[e].first, edges[e].second, ops[c][e], {}};
      const auto& info = runtime::cell_op_info(ops[c][e]);
      if (info.conv) {
        const std::string name = prefix + "e" + std::to_string(e) + "_" + std::string(info.name);
        // LibTorch's [out, in, k] as the file's out x (k in), tap-major.
        const auto& w = p.get(name + ".weight");
        edge.conv = {dense_matrix(w.permute({0, 2, 1}).reshape({w.size(0), -1}).contiguous()),
                     float_values(p.get(name + ".bias"))};
      }
      cell.edges.push_back(std::move(edge));
    }
    cell.norm = p.norm(prefix + "norm");
    cells.push_back(std::move(cell));
  }
  return cells;
}

}  // namespace

runtime::NextItemContent seq_export_content(SeqModel& model, std::vector<std::string> item_ids) {
  torch::NoGradGuard guard;
  const std::string family = model.family();
  if (family != "sasrec" && family != "bert4rec")
    throw Error("model '" + model.spec().to_string() + "' cannot be exported to the runtime");
  const bool bert = family == "bert4rec";
  const Parameters p(model);
  runtime::NextItemContent c;
  c.source_model = model.spec().to_string();
  c.arch = bert ? runtime::SeqArch::kBERT4Rec : runtime::SeqArch::kSASRec;
  c.max_len = static_cast<std::uint32_t>(model.max_len());
  c.heads = static_cast<std::uint32_t>(model.num_heads());
  const auto n = model.num_items();
  if (model.compressed_items()) {
    c.tt_items = tt_cores(*model.tt_items);  // the runtime computes the table from its cores
  } else {
    const auto& tokens = p.get("items.weight");  // [num_items + 2, H]: pad, items, [mask]
    c.items = dense_matrix(tokens.narrow(0, 1, n));
    if (bert) c.mask_token = float_values(tokens[n + 1]);
  }
  c.positions = dense_matrix(p.get("positions.weight"));
  if (const auto* adarec = dynamic_cast<const AdaRecImpl*>(&model)) {
    c.arch = runtime::SeqArch::kAdaRec;
    c.cells = adarec_cells(*adarec, p);
  }
  for (std::int64_t l = 0; c.arch != runtime::SeqArch::kAdaRec && l < model.num_layers(); ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    c.blocks.push_back({p.linear(b + "attention.query"), p.linear(b + "attention.key"),
                        p.linear(b + "attention.value"), p.linear(b + "attention.output"),
                        p.norm(b + "norm1"), p.norm(b + "norm2"), p.linear(b + "ff1"),
                        p.linear(b + "ff2")});
  }
  if (bert) {
    c.embedding_norm = p.norm("embedding_norm");
    c.projection = p.linear("projection");
    c.output_bias = float_values(p.get("output_bias"));
  } else if (c.arch == runtime::SeqArch::kSASRec) {
    c.final_norm = p.norm("final_norm");
  }
  if (static_cast<std::int64_t>(item_ids.size()) != n)
    throw Error("model '" + c.source_model + "' has " + std::to_string(n) + " items, given " +
                std::to_string(item_ids.size()) + " ids");
  c.item_ids = std::move(item_ids);
  return c;
}

std::size_t export_seq_model(const std::string& checkpoint_path, const std::string& output_path,
                             runtime::DType dtype) {
  const auto header = read_checkpoint(checkpoint_path).header;
  const auto model = load_seq_checkpoint(checkpoint_path);
  model->eval();
  std::string bytes;
  try {
    auto c = seq_export_content(*model, header.at("item_ids").get<std::vector<std::string>>());
    c.metadata = export_metadata(header, c.source_model, dtype, checkpoint_path);
    bytes = runtime::encode_next_item_model(c, dtype);
  } catch (const runtime::ModelError& e) {
    throw Error(checkpoint_path + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(checkpoint_path + ": malformed header: " + e.what());
  }
  write_file_atomic(output_path, bytes);
  return bytes.size();
}

}  // namespace recpress
