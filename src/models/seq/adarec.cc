// `adarec`: AdaRec's searchable cell student (see adarec.h for what is published and what is ours).
#include "models/seq/adarec.h"

#include <cmath>

#include "core/errors.h"
#include "models/module_util.h"
#include "train/losses.h"

namespace recpress {

namespace {

// x [B, L, H] moved `s` positions later: row t holds x_{t-s}, zeros before the start.
torch::Tensor shifted(const torch::Tensor& x, std::int64_t s) {
  const auto l = x.size(1);
  if (s >= l) return torch::zeros_like(x);
  return torch::constant_pad_nd(x.narrow(1, 0, l - s), {0, 0, s, 0});
}

std::vector<std::string> split(const std::string& text, char by) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(by, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

std::vector<std::vector<CellOp>> parse_cell_ops(const std::string& text, std::int64_t cells,
                                                std::int64_t nodes) {
  const auto edges = runtime::cell_edges(static_cast<std::uint32_t>(nodes)).size();
  const auto per_cell = split(text, '/');
  if (static_cast<std::int64_t>(per_cell.size()) != cells)
    throw Error("adarec: ops '" + text + "' names " + std::to_string(per_cell.size()) +
                " cells, the model has layers=" + std::to_string(cells));
  std::vector<std::vector<CellOp>> out;
  for (const auto& cell : per_cell) {
    const auto names = split(cell, '-');
    if (names.size() != edges)
      throw Error("adarec: ops '" + cell + "' names " + std::to_string(names.size()) +
                  " edges, a cell of " + std::to_string(nodes) + " nodes has " +
                  std::to_string(edges));
    auto& ops = out.emplace_back();
    for (const auto& name : names) {
      const auto op = runtime::cell_op_named(name);
      if (!op) {
        std::string known;
        for (const auto& info : runtime::kCellOpTable)
          known += (known.empty() ? "" : ", ") + std::string(info.name);
        throw Error("adarec: unknown op '" + name + "' in ops (known: " + known + ")");
      }
      ops.push_back(*op);
    }
  }
  return out;
}

std::string cell_ops_text(const std::vector<std::vector<CellOp>>& ops) {
  std::string text;
  for (std::size_t c = 0; c < ops.size(); ++c) {
    if (c > 0) text += '/';
    for (std::size_t e = 0; e < ops[c].size(); ++e) {
      if (e > 0) text += '-';
      text += runtime::cell_op_info(ops[c][e]).name;
    }
  }
  return text;
}

double cell_op_cost(CellOp op, std::int64_t hidden) {
  const auto& info = runtime::cell_op_info(op);
  const double h = static_cast<double>(hidden), largest = 5 * h * h + h;
  if (info.conv) return (static_cast<double>(info.kernel) * h * h + h) / largest;
  if (op == CellOp::kMaxPool3 || op == CellOp::kAvgPool3) return 3 * h / largest;  // no weights
  return 0;                                                                        // skip, zero
}

// ---------------------------------------------------------------- a cell

AdaRecCellImpl::AdaRecCellImpl(std::int64_t hidden, std::int64_t nodes,
                               const std::vector<std::optional<CellOp>>& fixed)
    : nodes_(nodes) {
  for (std::size_t e = 0; e < fixed.size(); ++e) {
    auto& row = convs_.emplace_back(runtime::kCellOps, torch::nn::Conv1d{nullptr});
    for (std::size_t k = 0; k < runtime::kCellOps; ++k) {
      const auto op = static_cast<CellOp>(k);
      const auto& info = runtime::cell_op_info(op);
      if (!info.conv || (fixed[e] && *fixed[e] != op)) continue;
      // Same name in the search space and a derived cell: a derived model's parameters are a
      // subset of the supernet's.
      std::string name = "e";  // appended, not "e" + ...: GCC 12's -Wstringop-overflow misfires
      name += std::to_string(e);
      name += '_';
      name += info.name;
      row[k] = register_module(
          name, torch::nn::Conv1d(torch::nn::Conv1dOptions(hidden, hidden, info.kernel)
                                      .dilation(static_cast<std::int64_t>(info.dilation))));
    }
  }
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
}

torch::nn::Conv1d AdaRecCellImpl::conv(std::size_t edge, CellOp op) const {
  return convs_.at(edge).at(static_cast<std::size_t>(op));
}

torch::Tensor AdaRecCellImpl::apply(std::size_t edge, CellOp op, const torch::Tensor& x) {
  const auto& info = runtime::cell_op_info(op);
  if (info.conv) {
    // Causal: pad (k - 1) d zeros on the left, so output t reads t, t - d, ..., t - (k - 1) d.
    const auto pad = static_cast<std::int64_t>((info.kernel - 1) * info.dilation);
    const auto xt = torch::constant_pad_nd(x.transpose(1, 2), {pad, 0});
    return torch::relu(convs_[edge][static_cast<std::size_t>(op)]->forward(xt).transpose(1, 2));
  }
  switch (op) {
    case CellOp::kSkip:
      return x;
    case CellOp::kMaxPool3:
      return torch::max(torch::max(x, shifted(x, 1)), shifted(x, 2));
    case CellOp::kAvgPool3:
      return (x + shifted(x, 1) + shifted(x, 2)) / 3.0;
    default:
      return torch::zeros_like(x);
  }
}

torch::Tensor AdaRecCellImpl::forward(const torch::Tensor& x, const torch::Tensor& real,
                                      const torch::Tensor& weights, const std::vector<CellOp>& ops,
                                      double dropout) {
  const auto edges = runtime::cell_edges(static_cast<std::uint32_t>(nodes_));
  std::vector<torch::Tensor> node{x};
  std::size_t e = 0;
  for (std::int64_t to = 1; to <= nodes_; ++to) {
    auto sum = torch::zeros_like(x);
    for (std::int64_t from = 0; from < to; ++from, ++e) {
      const auto& in = node[static_cast<std::size_t>(from)];
      if (!weights.defined()) {
        if (ops[e] != CellOp::kZero) sum = sum + apply(e, ops[e], in);
        continue;
      }
      // Every candidate, weighted: the straight-through weights are one-hot forward, but each
      // op's output carries the gradient of its architecture weight.
      for (std::size_t k = 0; k < runtime::kCellOps; ++k) {
        const auto op = static_cast<CellOp>(k);
        if (op == CellOp::kZero) continue;
        sum = sum + weights[static_cast<std::int64_t>(e)][static_cast<std::int64_t>(k)] *
                        apply(e, op, in);
      }
    }
    node.push_back(fast_dropout(sum, dropout, is_training()) * real);
  }
  return norm(x + node.back()) * real;
}

// ---------------------------------------------------------------- the model

AdaRecImpl::AdaRecImpl(const ModelSpec& spec, std::int64_t num_items)
    : SeqModel(spec, num_items),
      nodes_(spec.get_int("nodes")),
      tau0_(spec.get_double("tau")),
      cost_weight_(spec.get_double("cost")),
      temperature_(tau0_),
      hard_(spec.get_string("gumbel") == "hard") {
  const auto ops_text = spec.get_string("ops");
  const auto edges = runtime::cell_edges(static_cast<std::uint32_t>(nodes_)).size();
  if (!ops_text.empty()) {
    try {
      fixed_ = parse_cell_ops(ops_text, layers_, nodes_);
    } catch (const Error& e) {
      throw Error("model '" + spec.to_string() + "': " + e.what());
    }
  }
  cells = register_module("cells", torch::nn::ModuleList());
  for (std::int64_t c = 0; c < layers_; ++c) {
    std::vector<std::optional<CellOp>> fixed(edges);
    if (!fixed_.empty())
      for (std::size_t e = 0; e < edges; ++e) fixed[e] = fixed_[static_cast<std::size_t>(c)][e];
    cells->push_back(AdaRecCell(hidden_, nodes_, fixed));
  }
  if (fixed_.empty()) {
    // DARTS initialises the architecture weights at 1e-3 N(0, 1): every op equally likely.
    arch = register_parameter("arch",
                              1e-3 * torch::randn({layers_ * static_cast<std::int64_t>(edges),
                                                   static_cast<std::int64_t>(runtime::kCellOps)}));
  }
}

void AdaRecImpl::start_epoch(int epoch) {
  // Anneal x0.8 every 5 epochs (the schedule for AdaRec's Gumbel temperature).
  temperature_ = tau0_ * std::pow(0.8, std::floor((epoch - 1) / 5));
}

SeqTrainingInput AdaRecImpl::training_input(const torch::Tensor& sequences, Rng&) const {
  const auto l = sequences.size(1) - 1;
  SeqTrainingInput b;
  b.input = sequences.narrow(1, 0, l).contiguous();
  b.targets = sequences.narrow(1, 1, l).clone();
  b.targets.masked_fill_(b.input.eq(0), 0);  // nothing to predict from padding
  return b;
}

torch::Tensor AdaRecImpl::edge_weights() {
  // Gumbel-softmax (Jang et al. 2017): y = softmax((alpha + g) / tau), g = -log(-log U); the
  // straight-through variant uses one_hot(argmax y) forward and y's gradient backward.
  const auto u = torch::rand_like(arch).clamp(1e-10, 1.0 - 1e-7);
  const auto y = torch::softmax((arch - torch::log(-torch::log(u))) / temperature_, -1);
  if (!hard_) return y;
  const auto hard = torch::zeros_like(y).scatter_(1, y.argmax(1, true), 1.0);
  return hard - y.detach() + y;
}

SeqOutput AdaRecImpl::encode(const torch::Tensor& input) {
  const auto l = input.size(1);
  if (l > max_len_)
    throw Error("adarec: input of length " + std::to_string(l) + " > max_len " +
                std::to_string(max_len_));
  const auto real = input.ne(0).unsqueeze(2).to(positions->weight.scalar_type());
  auto x = embed_tokens(input) * std::sqrt(static_cast<double>(hidden_)) +
           positions(torch::arange(max_len_ - l, max_len_, torch::kLong));
  x = fast_dropout(x, dropout_, is_training()) * real;
  const bool mix = searching() && is_training();
  const auto weights = mix ? edge_weights() : torch::Tensor();
  const auto ops = architecture();
  const auto edges = static_cast<std::int64_t>(ops.front().size());
  SeqOutput out;
  for (std::size_t c = 0; c < cells->size(); ++c) {
    const auto w =
        mix ? weights.narrow(0, static_cast<std::int64_t>(c) * edges, edges) : torch::Tensor();
    x = cells[c]->as<AdaRecCell>()->forward(x, real, w, ops[c], dropout_);
    out.layers.push_back(x);
  }
  out.hidden = x;
  return out;
}

torch::Tensor AdaRecImpl::item_logits(const torch::Tensor& hidden) {
  return torch::matmul(hidden, token_table().narrow(0, 1, num_items_).t());
}

torch::Tensor AdaRecImpl::loss(const SeqOutput& out, const SeqTrainingInput& b) {
  const auto where = b.targets.gt(0);
  auto ce = full_softmax_cross_entropy(item_logits(out.hidden.index({where})),
                                       b.targets.index({where}) - 1);
  if (!searching() || cost_weight_ == 0) return ce;
  return ce + cost_weight_ * expected_cost();
}

std::vector<std::vector<CellOp>> AdaRecImpl::architecture() const {
  if (!searching()) return fixed_;
  const auto edges = arch.size(0) / layers_;
  const auto best = arch.detach().argmax(1);
  std::vector<std::vector<CellOp>> ops(static_cast<std::size_t>(layers_));
  for (std::int64_t c = 0; c < layers_; ++c)
    for (std::int64_t e = 0; e < edges; ++e)
      ops[static_cast<std::size_t>(c)].push_back(
          static_cast<CellOp>(best[c * edges + e].item<std::int64_t>()));
  return ops;
}

std::string AdaRecImpl::derived_spec() const {
  ModelSpec derived = spec_;
  derived.declared = nullptr;
  // The search's own settings do nothing to a derived model: dropped, so two searches that
  // derive the same architecture name the same student.
  for (const char* search_only : {"tau", "cost", "gumbel"}) derived.params.erase(search_only);
  derived.params["ops"] = cell_ops_text(architecture());
  return derived.to_string();
}

torch::Tensor AdaRecImpl::expected_cost() const {
  if (!searching()) return torch::zeros({});
  std::vector<double> costs;
  for (std::size_t k = 0; k < runtime::kCellOps; ++k)
    costs.push_back(cell_op_cost(static_cast<CellOp>(k), hidden_));
  const auto c = torch::tensor(costs, arch.options());
  return (torch::softmax(arch, -1) * c).sum(1).mean();
}

namespace {
SeqModelPtr make_adarec(const ModelSpec& s, std::int64_t n) {
  return AdaRec(s, n).ptr();
}
ParamDecls adarec_params() {
  ParamDecls p;
  for (auto& d : transformer_params())
    if (d.name != "heads") p.push_back(d);
  for (auto& d : p)
    if (d.name == "layers") d.doc = "cells";
  p.push_back(int_param("nodes", 2, 1,
                        "intermediate nodes per cell (node j sums an edge from "
                        "every earlier node; 2 nodes = 3 edges)"));
  p.push_back(text_param("ops", "", {},
                         "empty: search every candidate (zero, skip, c3, c5, d3, d5 = dilation 2, "
                         "max3, avg3; all causal); else the derived ops, per cell by '/', per edge "
                         "by '-', e.g. c3-skip-d5/max3-c5-zero"));
  p.push_back(real_param("tau", 1.0, 0, kUnbounded, true, false,
                         "initial Gumbel-softmax temperature (x0.8 every 5 epochs)"));
  p.push_back(real_param("cost", 0.05, 0, kUnbounded, false, false,
                         "beta: weight of the expected op cost (relative to a 5-tap convolution) "
                         "in the search's loss"));
  p.push_back(text_param("gumbel", "hard", {"hard", "soft"},
                         "hard: straight-through one-hot forward (AdaRec); soft: the relaxed "
                         "mixture"));
  return p;
}
}  // namespace
RECPRESS_REGISTER_SEQ_MODEL(
    "adarec",
    "AdaRec's student (Chen et al. 2021): cells of causal conv / dilated conv / pool / skip / zero "
    "edges; ops empty searches them (Gumbel-softmax, cost-sensitive), ops=... is a derived student",
    adarec_params(), make_adarec);

}  // namespace recpress
