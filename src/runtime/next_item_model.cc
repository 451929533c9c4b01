// NextItemModel: reading, checking and scoring a next-item model file (next_item_model.h), and
// writing one.
#include "runtime/next_item_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/encode_util.h"
#include "runtime/internal.h"
#include "runtime/topk.h"

namespace recpress::runtime {

// ---------------------------------------------------------------- writing

namespace {

flatbuffers::Offset<rpm::Layer> build_linear(flatbuffers::FlatBufferBuilder& fbb,
                                             const LinearWeights& l) {
  const auto w = build_matrix(fbb, l.weight, DType::kF32, false);
  return rpm::CreateLayer(fbb, w, fbb.CreateVector(l.bias));
}

flatbuffers::Offset<rpm::Norm> build_norm(flatbuffers::FlatBufferBuilder& fbb,
                                          const NormWeights& n) {
  return rpm::CreateNorm(fbb, fbb.CreateVector(n.weight), fbb.CreateVector(n.bias));
}

flatbuffers::Offset<rpm::TTItems> build_tt_items(flatbuffers::FlatBufferBuilder& fbb,
                                                 const TTCores& t, DType dtype) {
  const auto core = [&](std::uint32_t rows, const std::vector<float>& values) {
    const DenseMatrix m{rows, static_cast<std::uint32_t>(values.size() / rows), values};
    return build_matrix(fbb, m, DType::kF32, false);
  };
  const auto c1 = core(t.rows[0], t.core1), c2 = core(t.rows[1], t.core2),
             c3 = core(t.rows[2], t.core3);
  const std::vector<std::uint32_t> rows(t.rows.begin(), t.rows.end()),
      dims(t.dims.begin(), t.dims.end());
  return rpm::CreateTTItems(fbb, fbb.CreateVector(rows), fbb.CreateVector(dims), t.rank, t.stp, c1,
                            c2, c3, static_cast<rpm::DType>(dtype));
}

}  // namespace

std::string encode_next_item_model(const NextItemContent& c, DType dtype) {
  const bool tt = c.tt_items.has_value();
  const std::uint32_t hidden = tt ? c.tt_items->hidden() : c.items.cols;
  const std::size_t num_items = tt ? c.item_ids.size() : c.items.rows;
  if (hidden == 0 || num_items == 0 || c.item_ids.size() != num_items)
    throw ModelError("next-item model: " + std::to_string(num_items) + " items of width " +
                     std::to_string(hidden) + " and " + std::to_string(c.item_ids.size()) + " ids");
  if (tt) c.tt_items->check(num_items + 2);
  if (c.heads == 0 || hidden % c.heads != 0)
    throw ModelError("next-item model: " + std::to_string(c.heads) + " heads do not divide " +
                     std::to_string(hidden));
  flatbuffers::FlatBufferBuilder fbb(1 << 16);
  const auto items = tt ? 0 : build_matrix(fbb, c.items, dtype, true);
  const auto tt_items = tt ? build_tt_items(fbb, *c.tt_items, dtype) : 0;
  const auto positions = build_matrix(fbb, c.positions, DType::kF32, false);
  std::vector<flatbuffers::Offset<rpm::Block>> blocks;
  for (const auto& b : c.blocks) {
    const auto q = build_linear(fbb, b.query), k = build_linear(fbb, b.key),
               v = build_linear(fbb, b.value), o = build_linear(fbb, b.output);
    const auto n1 = build_norm(fbb, b.norm1), n2 = build_norm(fbb, b.norm2);
    const auto f1 = build_linear(fbb, b.ff1), f2 = build_linear(fbb, b.ff2);
    blocks.push_back(rpm::CreateBlock(fbb, q, k, v, o, n1, n2, f1, f2));
  }
  const auto block_vector = fbb.CreateVector(blocks);
  std::vector<flatbuffers::Offset<rpm::Cell>> cells;
  for (const auto& cell : c.cells) {
    std::vector<flatbuffers::Offset<rpm::CellEdge>> edges;
    for (const auto& e : cell.edges) {
      const auto& info = cell_op_info(e.op);
      if (!info.conv && (!e.conv.weight.values.empty() || !e.conv.bias.empty()))
        throw ModelError("next-item model: cell " + std::to_string(&cell - c.cells.data() + 1) +
                         " edge " + std::to_string(&e - cell.edges.data() + 1) + ": weights on a " +
                         std::string(info.name) + " edge");
      const auto conv = info.conv ? build_linear(fbb, e.conv) : 0;
      edges.push_back(rpm::CreateCellEdge(fbb, e.from, e.to, static_cast<rpm::CellOp>(e.op), conv));
    }
    const auto edge_vector = fbb.CreateVector(edges);
    cells.push_back(rpm::CreateCell(fbb, cell.nodes, edge_vector, build_norm(fbb, cell.norm)));
  }
  const auto cell_vector = cells.empty() ? 0 : fbb.CreateVector(cells);
  const bool bert = c.arch == SeqArch::kBERT4Rec, adarec = c.arch == SeqArch::kAdaRec;
  const auto mask = bert && !tt ? fbb.CreateVector(c.mask_token) : 0;
  const auto embedding_norm = bert ? build_norm(fbb, c.embedding_norm) : 0;
  const auto final_norm = bert || adarec ? 0 : build_norm(fbb, c.final_norm);
  const auto projection = bert ? build_linear(fbb, c.projection) : 0;
  const auto bias = bert ? fbb.CreateVector(c.output_bias) : 0;
  const auto part = rpm::CreateSeqPart(
      fbb, static_cast<rpm::SeqArch>(c.arch), c.max_len, hidden, c.heads, items, mask, positions,
      embedding_norm, block_vector, final_norm, projection, bias, tt_items, cell_vector);
  std::vector<std::int32_t> numbers;
  flatbuffers::Offset<flatbuffers::Vector<std::int32_t>> item_numbers = 0;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> item_ids = 0;
  if (as_numbers(c.item_ids, numbers))
    item_numbers = fbb.CreateVector(numbers);
  else
    item_ids = fbb.CreateVectorOfStrings(c.item_ids);
  const auto task = fbb.CreateString("seq");
  const auto source = fbb.CreateString(c.source_model);
  const auto metadata = fbb.CreateString(c.metadata);
  rpm::ModelBuilder b(fbb);
  b.add_task(task);
  b.add_source_model(source);
  b.add_metadata(metadata);
  b.add_dim(hidden);
  b.add_item_ids(item_ids);
  b.add_item_numeric_ids(item_numbers);
  b.add_seq(part);
  rpm::FinishModelBuffer(fbb, b.Finish());
  // Checked by reading it back: what the loader refuses is never written.
  std::string bytes = with_header(fbb, 2);
  (void)NextItemModel::from_bytes(bytes, "the encoded model");
  return bytes;
}

// ---------------------------------------------------------------- reading

NextItemModel NextItemModel::open(const std::string& path) {
  return parse(read_model_file(path), path);
}

NextItemModel NextItemModel::from_bytes(std::string_view bytes, const std::string& name) {
  return parse(copy_model_bytes(bytes), name);
}

std::size_t NextItemModel::file_bytes() const {
  return storage_->size;
}

NextItemModel NextItemModel::parse(std::shared_ptr<FileBytes> storage, const std::string& name) {
  const auto fail = [&](const std::string& why) { return ModelError(name + ": " + why); };
  verify_model_bytes(*storage, name);
  const rpm::Model* m = rpm::GetModel(storage->data + kHeaderBytes);
  const std::string task = m->task() != nullptr ? m->task()->str() : std::string();
  if (task == "topn" || task == "ctr")
    throw fail(std::string("a ") + (task == "ctr" ? "CTR" : "top-N") +
               " model, not a next-item one (recpress next, POST /next read next-item files)");
  if (task != "seq") throw fail("task '" + task + "' is not supported by this runtime");
  const rpm::SeqPart* s = m->seq();
  if (s == nullptr) throw fail("a next-item model without its part");
  NextItemModel out;
  if (s->arch() < rpm::SeqArch_MIN || s->arch() > rpm::SeqArch_MAX)
    throw fail("unknown architecture");
  out.arch_ = static_cast<SeqArch>(s->arch());
  const bool bert = out.arch_ == SeqArch::kBERT4Rec;
  out.max_len_ = s->max_len();
  out.hidden_ = s->hidden();
  out.heads_ = s->heads();
  if (out.hidden_ == 0 || out.hidden_ > 4096 || out.heads_ == 0 || out.hidden_ % out.heads_ != 0)
    throw fail("hidden " + std::to_string(out.hidden_) + " with " + std::to_string(out.heads_) +
               " heads (hidden in 1..4096, a multiple of heads)");
  if (out.max_len_ < (bert ? 2u : 1u) || out.max_len_ > 4096)
    throw fail("max_len " + std::to_string(out.max_len_) + " (1..4096; BERT4Rec: 2..4096)");
  const std::uint32_t h = out.hidden_;
  if (s->tt_items() != nullptr) {
    out.materialize_tt_items(*m, *s->tt_items(), name);
  } else {
    out.view_item_matrix(s->items(), name);
  }
  const auto f32 = [&](const rpm::Matrix* x, std::size_t rows, std::size_t cols,
                       const std::string& what) {
    if (x == nullptr || x->data() == nullptr || x->dtype() != rpm::DType_F32 || x->column_major() ||
        x->rows() != rows || x->cols() != cols || x->data()->size() != rows * cols * 4 ||
        reinterpret_cast<std::uintptr_t>(x->data()->data()) % 4 != 0)
      throw fail(what + ": expected an fp32 " + std::to_string(rows) + " x " +
                 std::to_string(cols) + " matrix");
    return reinterpret_cast<const float*>(x->data()->data());
  };
  const auto vec = [&](const flatbuffers::Vector<float>* v, std::size_t n,
                       const std::string& what) {
    if (v == nullptr || v->size() != n)
      throw fail(what + ": expected " + std::to_string(n) + " numbers");
    return v->data();
  };
  out.transposed_ = std::make_shared<std::vector<std::vector<float>>>();
  const auto linear = [&](const rpm::Layer* l, std::uint32_t in, std::uint32_t o,
                          const std::string& what) {
    if (l == nullptr) throw fail(what + " is missing");
    Linear lin{in, o, f32(l->weight(), o, in, what), vec(l->bias(), o, what + " bias"), nullptr};
    auto& t = out.transposed_->emplace_back(std::size_t{in} * o);
    for (std::size_t k = 0; k < o; ++k)
      for (std::size_t c = 0; c < in; ++c) t[c * o + k] = lin.weight[k * in + c];
    lin.weight_t = t.data();
    return lin;
  };
  const auto norm = [&](const rpm::Norm* n, const std::string& what) {
    if (n == nullptr) throw fail(what + " is missing");
    return Norm{vec(n->weight(), h, what), vec(n->bias(), h, what)};
  };
  out.positions_ = f32(s->positions(), out.max_len_, h, "positions");
  if (out.arch_ == SeqArch::kAdaRec) {
    if (s->blocks() != nullptr && s->blocks()->size() > 0)
      throw fail("an AdaRec model with transformer blocks");
    if (s->cells() == nullptr || s->cells()->size() == 0 || s->cells()->size() > 64)
      throw fail("1 to 64 AdaRec cells expected");
    for (const rpm::Cell* c : *s->cells()) {
      const std::string which = "cell " + std::to_string(out.cells_.size() + 1);
      Cell cell;
      cell.nodes = c->nodes();
      if (cell.nodes == 0 || cell.nodes > 16) throw fail(which + ": 1 to 16 nodes expected");
      const auto expected = cell_edges(cell.nodes);
      if (c->edges() == nullptr || c->edges()->size() != expected.size())
        throw fail(which + ": " + std::to_string(expected.size()) + " edges expected");
      for (std::size_t k = 0; k < expected.size(); ++k) {
        const rpm::CellEdge* e = c->edges()->Get(static_cast<flatbuffers::uoffset_t>(k));
        const std::string edge = which + " edge " + std::to_string(k + 1);
        if (e->from() != expected[k].first || e->to() != expected[k].second)
          throw fail(edge + ": not the edge " + std::to_string(expected[k].first) + " -> " +
                     std::to_string(expected[k].second));
        if (e->op() > rpm::CellOp_MAX) throw fail(edge + ": unknown op");
        CellEdge ce{e->from(), e->to(), static_cast<CellOp>(e->op()), {}};
        const auto& info = cell_op_info(ce.op);
        if (info.conv)
          ce.conv = linear(e->conv(), info.kernel * h, h, edge + " " + std::string(info.name));
        else if (e->conv() != nullptr)
          throw fail(edge + ": weights on a " + std::string(info.name) + " edge");
        cell.edges.push_back(ce);
      }
      cell.norm = norm(c->norm(), which + " norm");
      out.cells_.push_back(std::move(cell));
    }
  } else if (s->blocks() == nullptr || s->blocks()->size() == 0 || s->blocks()->size() > 64) {
    throw fail("1 to 64 transformer blocks expected");
  }
  if (out.arch_ != SeqArch::kAdaRec)
    for (const rpm::Block* b : *s->blocks()) {
      const std::string which = "block " + std::to_string(out.blocks_.size() + 1);
      out.blocks_.push_back(
          {linear(b->query(), h, h, which + " query"), linear(b->key(), h, h, which + " key"),
           linear(b->value(), h, h, which + " value"), linear(b->output(), h, h, which + " output"),
           linear(b->ff1(), h, 4 * h, which + " ff1"), linear(b->ff2(), 4 * h, h, which + " ff2"),
           norm(b->norm1(), which + " norm1"), norm(b->norm2(), which + " norm2")});
    }
  if (bert) {
    if (!out.materialized_) out.mask_token_ = vec(s->mask_token(), h, "mask token");
    out.embedding_norm_ = norm(s->embedding_norm(), "embedding norm");
    out.projection_ = linear(s->projection(), h, h, "projection");
    out.output_bias_ = vec(s->output_bias(), out.num_items_, "output bias");
  } else if (out.arch_ == SeqArch::kSASRec) {
    out.final_norm_ = norm(s->final_norm(), "final norm");
  }
  // Raw item ids: strings in place, or numbers printed once into the storage.
  if (m->item_ids() != nullptr && m->item_numeric_ids() == nullptr &&
      m->item_ids()->size() == out.num_items_) {
    for (const auto* id : *m->item_ids()) out.item_ids_.emplace_back(id->c_str(), id->size());
  } else if (m->item_ids() == nullptr && m->item_numeric_ids() != nullptr &&
             m->item_numeric_ids()->size() == out.num_items_) {
    for (const auto id : *m->item_numeric_ids())
      out.item_ids_.emplace_back(storage->decoded_ids.emplace_back(std::to_string(id)));
  } else {
    throw fail("the item ids do not match the number of items");
  }
  for (std::uint32_t i = 0; i < out.num_items_; ++i)
    if (!out.item_index_.emplace(out.item_ids_[i], i).second)
      throw fail("item id '" + std::string(out.item_ids_[i]) + "' appears twice");
  if (m->source_model() != nullptr) out.source_model_ = m->source_model()->str();
  if (m->metadata() != nullptr) out.metadata_ = m->metadata()->str();
  out.storage_ = std::move(storage);
  return out;
}

struct NextItemModel::Materialized {
  EncodedMatrix items;      // num_items x hidden, column-major, in the model's dtype
  std::vector<float> mask;  // BERT4Rec's [mask]: the table's last row
};

void NextItemModel::view_item_matrix(const rpm::Matrix* items, const std::string& name) {
  const auto fail = [&](const std::string& why) { return ModelError(name + ": " + why); };
  const std::uint32_t h = hidden_;
  if (items == nullptr || items->data() == nullptr || items->cols() != h || items->rows() == 0 ||
      !items->column_major() || items->dtype() < rpm::DType_MIN || items->dtype() > rpm::DType_MAX)
    throw fail("the item matrix is missing or not a column-major items x hidden matrix");
  dtype_ = static_cast<DType>(items->dtype());
  num_items_ = items->rows();
  if (items->data()->size() != std::size_t{num_items_} * h * bytes_of(dtype_) ||
      reinterpret_cast<std::uintptr_t>(items->data()->data()) % bytes_of(dtype_) != 0)
    throw fail("the item matrix's values do not match its shape");
  if (dtype_ == DType::kI8 && (items->scales() == nullptr || items->scales()->size() != num_items_))
    throw fail("int8 items without one scale per item");
  use_items(items->data()->data(), dtype_ == DType::kI8 ? items->scales()->data() : nullptr);
}

void NextItemModel::use_items(const std::uint8_t* items, const float* scales) {
  items_ = items;
  item_scales_ = scales;
  if (dtype_ == DType::kI8)
    packed_items_ =
        PackedI8Items::pack(reinterpret_cast<const std::int8_t*>(items_), hidden_, num_items_);
}

void NextItemModel::materialize_tt_items(const rpm::Model& m, const rpm::TTItems& tt,
                                         const std::string& name) {
  const auto fail = [&](const std::string& why) { return ModelError(name + ": " + why); };
  if (m.seq()->items() != nullptr) throw fail("both an item matrix and tensor-train items");
  // The number of items is the number of ids (checked against the ids again below).
  const auto ids = m.item_ids() != nullptr           ? m.item_ids()->size()
                   : m.item_numeric_ids() != nullptr ? m.item_numeric_ids()->size()
                                                     : 0u;
  if (ids == 0) throw fail("tensor-train items without item ids");
  if (tt.dtype() < rpm::DType_MIN || tt.dtype() > rpm::DType_MAX)
    throw fail("tensor-train items: unknown dtype");
  if (tt.row_factors() == nullptr || tt.row_factors()->size() != 3 || tt.dim_factors() == nullptr ||
      tt.dim_factors()->size() != 3)
    throw fail("tensor-train items: three row and three dim factors expected");
  TTCores c;
  for (std::uint32_t k = 0; k < 3; ++k) {
    c.rows[k] = tt.row_factors()->Get(k);
    c.dims[k] = tt.dim_factors()->Get(k);
  }
  c.rank = tt.rank();
  c.stp = tt.stp();
  const auto sizes = c.core_sizes();
  const auto core = [&](const rpm::Matrix* x, std::uint32_t k, std::vector<float>& out) {
    if (x == nullptr || x->data() == nullptr || x->dtype() != rpm::DType_F32 || x->column_major() ||
        std::uint64_t{x->rows()} * x->cols() != sizes[k] || x->data()->size() != sizes[k] * 4)
      throw fail("tensor-train core " + std::to_string(k + 1) + ": expected " +
                 std::to_string(sizes[k]) + " fp32 numbers");
    out.resize(sizes[k]);
    std::memcpy(out.data(), x->data()->data(), sizes[k] * 4);
  };
  // Each core's size is checked against its data before it is copied, so the factors can not
  // make this allocate more than the file holds.
  core(tt.core1(), 0, c.core1);
  core(tt.core2(), 1, c.core2);
  core(tt.core3(), 2, c.core3);
  try {
    c.check(std::uint64_t{ids} + 2);
  } catch (const ModelError& e) {
    throw fail(e.what());
  }
  if (c.hidden() != hidden_)
    throw fail("tensor-train items of width " + std::to_string(c.hidden()) + ", hidden " +
               std::to_string(hidden_));
  dtype_ = static_cast<DType>(tt.dtype());
  num_items_ = static_cast<std::uint32_t>(ids);
  const DenseMatrix table = tt_table(c, num_items_ + 2);  // padding, the items, [mask]
  const auto h = std::size_t{hidden_};
  DenseMatrix items{num_items_, hidden_, {}};
  items.values.assign(table.values.begin() + h, table.values.begin() + (num_items_ + 1) * h);
  auto owned = std::make_shared<Materialized>();
  owned->items = encode_matrix(items, dtype_, true);
  owned->mask.assign(table.values.end() - h, table.values.end());
  use_items(owned->items.data.data(),
            owned->items.scales.empty() ? nullptr : owned->items.scales.data());
  mask_token_ = owned->mask.data();
  materialized_ = std::move(owned);
  tt_parameters_ = c.parameter_count();
}

std::uint64_t NextItemModel::parameter_count() const {
  const std::uint64_t h = hidden_;
  std::uint64_t n = (tt_parameters_ > 0 ? tt_parameters_ : std::uint64_t{num_items_} * h) +
                    std::uint64_t{max_len_} * h;
  n += blocks_.size() * (4 * (h * h + h) + 2 * 2 * h + (4 * h * h + 4 * h) + (4 * h * h + h));
  for (const auto& c : cells_) {
    n += 2 * h;  // the cell's norm
    for (const auto& e : c.edges) n += e.conv.in * std::uint64_t{e.conv.out} + e.conv.out;
  }
  if (arch_ == SeqArch::kAdaRec) return n;
  if (arch_ == SeqArch::kBERT4Rec)  // [mask] (a row of the tensor-train table when compressed)
    n += (tt_parameters_ > 0 ? 0 : h) + 2 * h + h * h + h + num_items_;
  else
    n += 2 * h;
  return n;
}

std::uint32_t NextItemModel::history_length() const {
  return arch_ == SeqArch::kBERT4Rec ? max_len_ - 1 : max_len_;
}

std::optional<std::uint32_t> NextItemModel::item_index(std::string_view raw_id) const {
  const auto it = item_index_.find(raw_id);
  if (it == item_index_.end()) return std::nullopt;
  return it->second;
}

void NextItemModel::resolve_history(std::span<const std::string_view> raw,
                                    std::vector<std::uint32_t>& out,
                                    std::vector<std::string>& unknown) const {
  out.clear();
  unknown.clear();
  for (const auto id : raw) {
    if (const auto i = item_index(id))
      out.push_back(*i);
    else
      unknown.emplace_back(id);
  }
}

// ---------------------------------------------------------------- scoring

namespace {

// y = x W^T + b for `rows` rows of x (row-major): the transposed weights, vectorised over the
// outputs (kernels.cc).
void linear_rows(const float* x, std::size_t rows, const float* wt, const float* b, std::size_t in,
                 std::size_t out, float* y) {
  affine_rows(wt, b, in, out, x, rows, y);
}

// LayerNorm over `h` values (eps 1e-5, biased variance, as torch::nn::LayerNorm).
void layer_norm(const float* x, std::size_t h, const float* w, const float* b, float* y) {
  float mean = 0;
  for (std::size_t c = 0; c < h; ++c) mean += x[c];
  mean /= static_cast<float>(h);
  float var = 0;
  for (std::size_t c = 0; c < h; ++c) var += (x[c] - mean) * (x[c] - mean);
  var /= static_cast<float>(h);
  const float inv = 1.0f / std::sqrt(var + 1e-5f);
  for (std::size_t c = 0; c < h; ++c) y[c] = (x[c] - mean) * inv * w[c] + b[c];
}

float gelu(float x) {  // exact (erf) GELU, torch::gelu's default
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}

// Per-thread buffers, grown once (no allocation per request after the first of a thread).
struct Scratch {
  std::vector<float> x, a, q, k, v, ctx, o, f, p, h, scores, nodes, col;
  std::vector<std::uint16_t> h16;
  std::vector<std::int8_t> h8;
  std::vector<std::uint8_t> mask;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}
void grow(std::vector<float>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

void NextItemModel::run_block(const Block& b, std::size_t n, bool last_only, float* x) const {
  Scratch& s = scratch();
  const std::size_t h = hidden_, heads = heads_, d = h / heads;
  const bool pre_norm = arch_ == SeqArch::kSASRec;
  const std::size_t r0 = last_only ? n - 1 : 0, m = n - r0;
  // The attention's input: LN1(x) before (SASRec), x itself after (BERT4Rec, post-norm).
  const float* a = x;
  if (pre_norm) {
    for (std::size_t r = 0; r < n; ++r)
      layer_norm(x + r * h, h, b.norm1.weight, b.norm1.bias, s.a.data() + r * h);
    a = s.a.data();
  }
  linear_rows(a, n, b.key.weight_t, b.key.bias, h, h, s.k.data());
  linear_rows(a, n, b.value.weight_t, b.value.bias, h, h, s.v.data());
  linear_rows(a + r0 * h, m, b.query.weight_t, b.query.bias, h, h, s.q.data());
  // Scaled dot-product attention per head (Vaswani et al. 2017, eq. 1); SASRec's is causal.
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t r = r0 + i;
    const std::size_t keys = pre_norm ? r + 1 : n;
    for (std::size_t hd = 0; hd < heads; ++hd) {
      const float* qr = s.q.data() + i * h + hd * d;
      float best = -INFINITY;
      for (std::size_t k = 0; k < keys; ++k) {
        const float* kk = s.k.data() + k * h + hd * d;
        float dot = 0;
        for (std::size_t c = 0; c < d; ++c) dot += qr[c] * kk[c];
        s.p[k] = dot * scale;
        best = std::max(best, s.p[k]);
      }
      float sum = 0;
      for (std::size_t k = 0; k < keys; ++k) sum += (s.p[k] = std::exp(s.p[k] - best));
      float* cr = s.ctx.data() + i * h + hd * d;
      std::fill(cr, cr + d, 0.0f);
      for (std::size_t k = 0; k < keys; ++k) {
        const float pk = s.p[k] / sum;
        const float* vk = s.v.data() + k * h + hd * d;
        for (std::size_t c = 0; c < d; ++c) cr[c] += pk * vk[c];
      }
    }
  }
  linear_rows(s.ctx.data(), m, b.output.weight_t, b.output.bias, h, h, s.o.data());
  // Residual, feed-forward (4h, ReLU / GELU), residual; the norms where each model puts them.
  for (std::size_t i = 0; i < m; ++i) {
    float* xr = x + (r0 + i) * h;
    float* y = s.o.data() + i * h;  // attention output -> the block's middle state
    if (pre_norm) {
      for (std::size_t c = 0; c < h; ++c) y[c] += xr[c];
      layer_norm(y, h, b.norm2.weight, b.norm2.bias, s.h.data());
    } else {
      for (std::size_t c = 0; c < h; ++c) s.h[c] = xr[c] + y[c];
      layer_norm(s.h.data(), h, b.norm1.weight, b.norm1.bias, y);
      std::copy(y, y + h, s.h.data());
    }
    linear_rows(s.h.data(), 1, b.ff1.weight_t, b.ff1.bias, h, 4 * h, s.f.data());
    for (std::size_t c = 0; c < 4 * h; ++c)
      s.f[c] = pre_norm ? std::max(0.0f, s.f[c]) : gelu(s.f[c]);
    linear_rows(s.f.data(), 1, b.ff2.weight_t, b.ff2.bias, 4 * h, h, s.h.data());
    if (pre_norm) {
      for (std::size_t c = 0; c < h; ++c) xr[c] = y[c] + s.h[c];
    } else {
      for (std::size_t c = 0; c < h; ++c) s.h[c] += y[c];
      layer_norm(s.h.data(), h, b.norm2.weight, b.norm2.bias, xr);
    }
  }
}

void NextItemModel::run_cell(const Cell& c, std::size_t n, float* x) const {
  Scratch& s = scratch();
  const std::size_t h = hidden_, size = n * h;
  grow(s.nodes, c.nodes * size);
  std::fill(s.nodes.begin(), s.nodes.begin() + static_cast<std::ptrdiff_t>(c.nodes * size), 0.0f);
  // Node 0 is x; node j (1-based) lives at nodes + (j - 1) * size.
  const auto node = [&](std::uint32_t j) -> float* {
    return j == 0 ? x : s.nodes.data() + (j - 1) * size;
  };
  for (const auto& e : c.edges) {
    const float* in = node(e.from);
    float* out = node(e.to);
    const auto& info = cell_op_info(e.op);
    // Row t's value `back` positions earlier (zero before the history).
    const auto at = [&](std::size_t t, std::size_t back, std::size_t ch) {
      return t >= back ? in[(t - back) * h + ch] : 0.0f;
    };
    if (info.conv) {
      // im2col: row t = [x_{t-(k-1)d}, ..., x_t], then one affine map for all rows (then ReLU).
      const std::size_t k = info.kernel, width = k * h;
      grow(s.col, n * width);
      grow(s.o, size);
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t j = 0; j < k; ++j)
          for (std::size_t ch = 0; ch < h; ++ch)
            s.col[t * width + j * h + ch] = at(t, (k - 1 - j) * info.dilation, ch);
      linear_rows(s.col.data(), n, e.conv.weight_t, e.conv.bias, width, h, s.o.data());
      for (std::size_t q = 0; q < size; ++q) out[q] += std::max(0.0f, s.o[q]);
    } else if (e.op == CellOp::kSkip) {
      for (std::size_t q = 0; q < size; ++q) out[q] += in[q];
    } else if (e.op == CellOp::kMaxPool3 || e.op == CellOp::kAvgPool3) {
      const bool max = e.op == CellOp::kMaxPool3;
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t ch = 0; ch < h; ++ch) {
          const float a = at(t, 0, ch), b = at(t, 1, ch), d = at(t, 2, ch);
          out[t * h + ch] += max ? std::max(std::max(a, b), d) : (a + b + d) / 3.0f;
        }
    }
  }
  // x = LN(x + the last node), row by row.
  const float* last = node(c.nodes);
  grow(s.h, h);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t ch = 0; ch < h; ++ch) s.h[ch] = x[t * h + ch] + last[t * h + ch];
    layer_norm(s.h.data(), h, c.norm.weight, c.norm.bias, x + t * h);
  }
}

void NextItemModel::last_hidden(std::span<const std::uint32_t> history, float* out) const {
  if (history.empty()) throw ModelError("an empty history: nothing to predict from");
  for (const auto i : history)
    if (i >= num_items_)
      throw ModelError("item index " + std::to_string(i) + " out of range (" +
                       std::to_string(num_items_) + " items)");
  Scratch& s = scratch();
  const std::size_t h = hidden_;
  const bool bert = arch_ == SeqArch::kBERT4Rec;
  const std::size_t kept = std::min<std::size_t>(history.size(), history_length());
  const std::size_t n = kept + (bert ? 1 : 0);
  for (auto* v : {&s.x, &s.a, &s.q, &s.k, &s.v, &s.ctx, &s.o}) grow(*v, n * h);
  grow(s.f, 4 * h);
  grow(s.h, 4 * h);
  grow(s.p, n);
  // Embeddings of the n real positions, the last at position max_len - 1.
  const float sqrt_h = std::sqrt(static_cast<float>(h));
  const auto& half = half_table();
  for (std::size_t r = 0; r < n; ++r) {
    float* xr = s.x.data() + r * h;
    const float* pos = positions_ + (max_len_ - n + r) * h;
    if (bert && r == n - 1) {
      std::copy(mask_token_, mask_token_ + h, xr);
    } else {
      const std::size_t item = history[history.size() - kept + r];
      for (std::size_t c = 0; c < h; ++c) {  // column-major: (item, c) at c * num_items + item
        const std::size_t at = c * num_items_ + item;
        xr[c] = dtype_ == DType::kF32 ? reinterpret_cast<const float*>(items_)[at]
                : dtype_ == DType::kF16
                    ? half[reinterpret_cast<const std::uint16_t*>(items_)[at]]
                    : item_scales_[item] *
                          static_cast<float>(reinterpret_cast<const std::int8_t*>(items_)[at]);
      }
    }
    if (bert) {
      for (std::size_t c = 0; c < h; ++c) s.h[c] = xr[c] + pos[c];
      layer_norm(s.h.data(), h, embedding_norm_.weight, embedding_norm_.bias, xr);
    } else {
      for (std::size_t c = 0; c < h; ++c) xr[c] = xr[c] * sqrt_h + pos[c];
    }
  }
  for (std::size_t l = 0; l < blocks_.size(); ++l)
    run_block(blocks_[l], n, l + 1 == blocks_.size(), s.x.data());
  for (const auto& c : cells_) run_cell(c, n, s.x.data());
  const float* last = s.x.data() + (n - 1) * h;
  if (arch_ == SeqArch::kAdaRec) {
    std::copy(last, last + h, out);
  } else if (bert) {
    linear_rows(last, 1, projection_.weight_t, projection_.bias, h, h, out);
    for (std::size_t c = 0; c < h; ++c) out[c] = gelu(out[c]);
  } else {
    layer_norm(last, h, final_norm_.weight, final_norm_.bias, out);
  }
}

void NextItemModel::score_all(std::span<const std::uint32_t> history, float* out) const {
  Scratch& s = scratch();
  const std::size_t h = hidden_;
  thread_local std::vector<float> state;
  if (state.size() < h) state.resize(h);
  last_hidden(history, state.data());
  // <h, item_i> over the column-major item matrix, in the file's dtype (fp16 / int8: h rounded
  // to the same type, as the top-N kernels score a user vector).
  if (dtype_ == DType::kF32) {
    score_f32(state.data(), reinterpret_cast<const float*>(items_), h, num_items_, 0.0f, out);
  } else if (dtype_ == DType::kF16) {
    if (s.h16.size() < h) s.h16.resize(h);
    for (std::size_t c = 0; c < h; ++c) s.h16[c] = float_to_half(state[c]);
    score_f16(s.h16.data(), reinterpret_cast<const std::uint16_t*>(items_), h, num_items_, 0.0f,
              out);
  } else {
    if (s.h8.size() < h) s.h8.resize(h);
    float max_abs = 0;
    for (std::size_t c = 0; c < h; ++c) max_abs = std::max(max_abs, std::fabs(state[c]));
    const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    for (std::size_t c = 0; c < h; ++c)
      s.h8[c] =
          static_cast<std::int8_t>(std::clamp(std::nearbyint(state[c] / scale), -127.0f, 127.0f));
    if (packed_items_)
      packed_items_->score(s.h8.data(), 0.0f, scale, item_scales_, out);
    else
      score_i8(s.h8.data(), reinterpret_cast<const std::int8_t*>(items_), h, num_items_, 0.0f,
               scale, item_scales_, out);
  }
  if (output_bias_ != nullptr)
    for (std::size_t i = 0; i < num_items_; ++i) out[i] += output_bias_[i];
}

std::vector<std::pair<std::uint32_t, float>> NextItemModel::next(
    std::span<const std::uint32_t> history, std::size_t k, bool exclude_history) const {
  Scratch& s = scratch();
  grow(s.scores, num_items_);
  score_all(history, s.scores.data());
  if (exclude_history) {
    s.mask.assign(num_items_, 0);
    for (const auto i : history) s.mask[i] = 1;
  } else {
    s.mask.clear();
  }
  std::vector<std::pair<std::uint32_t, float>> out;
  for (const auto i : top_k({s.scores.data(), num_items_}, k, s.mask))
    out.emplace_back(static_cast<std::uint32_t>(i), s.scores[static_cast<std::size_t>(i)]);
  return out;
}

}  // namespace recpress::runtime
