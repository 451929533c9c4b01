// CtrModel: reading, checking and scoring a CTR model file (ctr_model.h), and writing one.
#include "runtime/ctr_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/encode_util.h"
#include "runtime/internal.h"

namespace recpress::runtime {

// Blocks of fewer rows go through the deep part one row at a time (a GEMV vectorised across the
// units, transposed weights) instead of the tiled kernel, whose tiles are 16 rows wide.
constexpr std::size_t kRowPathBelow = 4;

// ---------------------------------------------------------------- writing

namespace {

void check_content(const CtrContent& c, const FeatureEncoder& f) {
  const auto vocab = static_cast<std::size_t>(f.vocab_size());
  const auto fail = [](const std::string& why) { return ModelError("CTR model: " + why); };
  if (c.has_linear && (c.linear.size() != vocab || c.dense_linear.size() != f.dense()))
    throw fail("linear weights for " + std::to_string(c.linear.size()) + " ids and " +
               std::to_string(c.dense_linear.size()) + " dense fields, the features have " +
               std::to_string(vocab) + " and " + std::to_string(f.dense()));
  const std::uint32_t dim = c.embedding.cols;
  if (dim > 0 && (c.embedding.rows != vocab || c.dense_vectors.rows != f.dense() ||
                  (f.dense() > 0 && c.dense_vectors.cols != dim)))
    throw fail("embeddings of " + std::to_string(c.embedding.rows) + " x " + std::to_string(dim) +
               " do not match " + std::to_string(vocab) + " ids");
  if ((c.fm || c.has_deep) && dim == 0) throw fail("an FM or deep part needs embeddings");
  if (!c.has_linear && !c.fm && !c.has_deep) throw fail("no part to score with");
  if (c.has_deep) {
    std::size_t width = static_cast<std::size_t>(f.deep_sparse_fields() + f.dense()) * dim;
    for (const auto& l : c.deep) {
      if (l.weight.cols != width || l.bias.size() != l.weight.rows)
        throw fail("a deep layer does not fit the layer before it (width " + std::to_string(width) +
                   ")");
      width = l.weight.rows;
    }
    if (c.deep_head.size() != width) throw fail("the deep head does not fit the last layer");
  }
}

}  // namespace

std::string encode_ctr_model(const CtrContent& c, DType dtype) {
  const FeatureEncoder features(c.features, c.criteo_numeric, c.max_tokens);
  check_content(c, features);
  flatbuffers::FlatBufferBuilder fbb(1 << 16);
  std::vector<flatbuffers::Offset<rpm::Feature>> fields;
  std::vector<std::int32_t> numbers;
  for (const auto& f : c.features) {
    const bool numeric = !f.tokens.empty() && as_numbers(f.tokens, numbers);
    fields.push_back(rpm::CreateFeature(
        fbb, fbb.CreateString(f.name), static_cast<rpm::FeatureKind>(f.kind),
        fbb.CreateString(f.left), fbb.CreateString(f.right), f.hashed, f.buckets,
        numeric ? 0 : fbb.CreateVectorOfStrings(f.tokens), fbb.CreateVector(f.edges), f.slots,
        numeric ? fbb.CreateVector(numbers) : 0));
  }
  const auto feature_vector = fbb.CreateVector(fields);
  flatbuffers::Offset<rpm::Matrix> linear = 0, embedding = 0, dense_vectors = 0;
  flatbuffers::Offset<flatbuffers::Vector<float>> dense_linear = 0, head = 0;
  if (c.has_linear) {
    DenseMatrix w{static_cast<std::uint32_t>(c.linear.size()), 1, c.linear};
    linear = build_matrix(fbb, w, dtype == DType::kF32 ? DType::kF32 : DType::kF16, false);
    dense_linear = fbb.CreateVector(c.dense_linear);
  }
  if (c.embedding.cols > 0) {
    embedding = build_matrix(fbb, c.embedding, dtype, false);
    dense_vectors = build_matrix(fbb, c.dense_vectors, DType::kF32, false);
  }
  std::vector<flatbuffers::Offset<rpm::Layer>> layers;
  for (const auto& l : c.deep) {
    const auto w = build_matrix(fbb, l.weight, DType::kF32, false);
    layers.push_back(rpm::CreateLayer(fbb, w, fbb.CreateVector(l.bias)));
  }
  const auto layer_vector = c.has_deep ? fbb.CreateVector(layers) : 0;
  if (c.has_deep) head = fbb.CreateVector(c.deep_head);
  const auto part =
      rpm::CreateCtrPart(fbb, feature_vector, c.criteo_numeric, c.max_tokens, c.has_linear, linear,
                         dense_linear, c.bias, c.embedding.cols, embedding, dense_vectors, c.fm,
                         c.has_deep, layer_vector, head, c.deep_bias);
  const auto task = fbb.CreateString("ctr");
  const auto source = fbb.CreateString(c.source_model);
  const auto metadata = fbb.CreateString(c.metadata);
  rpm::ModelBuilder b(fbb);
  b.add_task(task);
  b.add_source_model(source);
  b.add_metadata(metadata);
  b.add_dim(c.embedding.cols);
  b.add_ctr(part);
  rpm::FinishModelBuffer(fbb, b.Finish());
  return with_header(fbb, 2);
}

// ---------------------------------------------------------------- reading

CtrModel CtrModel::open(const std::string& path) {
  return parse(read_model_file(path), path);
}

CtrModel CtrModel::from_bytes(std::string_view bytes, const std::string& name) {
  return parse(copy_model_bytes(bytes), name);
}

std::size_t CtrModel::file_bytes() const {
  return storage_->size;
}

namespace {

std::string text_of(const flatbuffers::String* s) {
  return s != nullptr ? s->str() : std::string();
}

}  // namespace

CtrModel CtrModel::parse(std::shared_ptr<FileBytes> storage, const std::string& name) {
  const auto fail = [&](const std::string& why) { return ModelError(name + ": " + why); };
  verify_model_bytes(*storage, name);
  const rpm::Model* m = rpm::GetModel(storage->data + kHeaderBytes);
  const std::string task = text_of(m->task());
  if (task == "topn")
    throw fail(
        "a top-N model: it recommends items for users (recpress recommend, "
        "GET /recommend), it does not score rows of field values");
  if (task == "seq")
    throw fail(
        "a next-item model: it predicts the items after a history (recpress next, "
        "POST /next), it does not score rows of field values");
  if (task != "ctr") throw fail("task '" + task + "' is not supported by this runtime");
  const rpm::CtrPart* c = m->ctr();
  if (c == nullptr || c->features() == nullptr) throw fail("a CTR model without its features");

  CtrModel out;
  std::vector<FeatureField> fields;
  for (const rpm::Feature* f : *c->features()) {
    FeatureField field;
    field.name = text_of(f->name());
    if (f->kind() < rpm::FeatureKind_MIN || f->kind() > rpm::FeatureKind_MAX)
      throw fail("feature '" + field.name + "' has an unknown kind");
    field.kind = static_cast<FeatureKind>(f->kind());
    field.left = text_of(f->left());
    field.right = text_of(f->right());
    field.hashed = f->hashed();
    field.buckets = f->buckets();
    if (f->tokens() != nullptr && f->numeric_tokens() != nullptr)
      throw fail("feature '" + field.name + "' has both text and numeric tokens");
    if (f->tokens() != nullptr)
      for (const auto* t : *f->tokens()) field.tokens.push_back(t->str());
    if (f->numeric_tokens() != nullptr)
      for (const auto t : *f->numeric_tokens()) field.tokens.push_back(std::to_string(t));
    if (f->edges() != nullptr) {
      // Copied bytewise: the verifier checks a vector's 4-byte alignment, not its doubles' 8
      // (the fuzzer, under UBSan, found a misaligned read).
      const auto* edges = f->edges();
      field.edges.resize(edges->size());
      if (!field.edges.empty())
        std::memcpy(field.edges.data(), edges->Data(), field.edges.size() * sizeof(double));
    }
    field.slots = f->slots();
    fields.push_back(std::move(field));
  }
  if (c->max_tokens() > 4096)
    throw fail("max_tokens " + std::to_string(c->max_tokens()) + " > 4096");
  try {
    out.features_ = FeatureEncoder(std::move(fields), c->criteo_numeric(), c->max_tokens());
  } catch (const ModelError& e) {
    throw fail(std::string("features: ") + e.what());
  }
  const FeatureEncoder& fe = out.features_;
  const auto vocab = static_cast<std::size_t>(fe.vocab_size());
  const std::uint32_t dense = fe.dense();
  // One matrix of the given shape, dtype(s) and layout, with its values in place and aligned.
  const auto check_matrix = [&](const rpm::Matrix* x, const std::string& what, std::size_t rows,
                                std::size_t cols, bool any_dtype, rpm::DType only) {
    if (x == nullptr || x->data() == nullptr) throw fail("missing " + what);
    if (x->dtype() < rpm::DType_MIN || x->dtype() > rpm::DType_MAX ||
        (!any_dtype && x->dtype() != only))
      throw fail(what + ": unexpected dtype");
    const std::size_t bytes = bytes_of(static_cast<DType>(x->dtype()));
    if (x->column_major() || x->rows() != rows || x->cols() != cols ||
        x->data()->size() != rows * cols * bytes)
      throw fail(what + ": expected a row-major " + std::to_string(rows) + " x " +
                 std::to_string(cols) + " matrix, got " + std::to_string(x->rows()) + " x " +
                 std::to_string(x->cols()) + " in " + std::to_string(x->data()->size()) + " bytes");
    if (reinterpret_cast<std::uintptr_t>(x->data()->data()) % bytes != 0)
      throw fail(what + ": misaligned values");
    if (x->dtype() == rpm::DType_I8 && (x->scales() == nullptr || x->scales()->size() != rows))
      throw fail(what + ": int8 without one scale per row");
  };
  if (c->has_linear()) {
    const rpm::Matrix* w = c->linear();
    if (w != nullptr && w->dtype() == rpm::DType_F16)
      check_matrix(w, "linear weights", vocab, 1, false, rpm::DType_F16);
    else
      check_matrix(w, "linear weights", vocab, 1, false, rpm::DType_F32);
    out.linear_ = w->data()->data();
    out.linear_dtype_ = static_cast<DType>(w->dtype());
    if (c->dense_linear() == nullptr ? dense != 0 : c->dense_linear()->size() != dense)
      throw fail("linear weights: expected one per dense field (" + std::to_string(dense) + ")");
    if (dense > 0) out.dense_linear_ = c->dense_linear()->data();
    out.dtype_ = out.linear_dtype_;
  }
  out.bias_ = c->bias();
  out.dim_ = c->dim();
  out.embedded_fields_ = fe.deep_sparse_fields() + dense;
  if (out.dim_ > 0) {
    if (static_cast<std::uint64_t>(out.dim_) * out.embedded_fields_ > kMaxTowerWidth)
      throw fail("embeddings of " + std::to_string(out.embedded_fields_) + " fields x dim " +
                 std::to_string(out.dim_) + " exceed " + std::to_string(kMaxTowerWidth));
    check_matrix(c->embedding(), "embeddings", vocab, out.dim_, true, rpm::DType_F32);
    out.embedding_ = c->embedding()->data()->data();
    out.dtype_ = static_cast<DType>(c->embedding()->dtype());
    if (out.dtype_ == DType::kI8) out.embedding_scales_ = c->embedding()->scales()->data();
    if (dense > 0) {
      check_matrix(c->dense_vectors(), "dense field vectors", dense, out.dim_, false,
                   rpm::DType_F32);
      out.dense_vectors_ = reinterpret_cast<const float*>(c->dense_vectors()->data()->data());
    }
  }
  out.fm_ = c->fm();
  if ((out.fm_ || c->has_deep()) && (out.dim_ == 0 || out.embedded_fields_ == 0))
    throw fail("an FM or deep part without embeddings");
  if (c->has_deep()) {
    std::uint32_t width = out.embedded_fields_ * out.dim_;
    out.widest_ = width;
    if (c->deep() != nullptr) {
      for (const rpm::Layer* l : *c->deep()) {
        const std::string which = "deep layer " + std::to_string(out.deep_.size() + 1);
        const rpm::Matrix* w = l->weight();
        if (w == nullptr || l->bias() == nullptr) throw fail(which + " is missing its weights");
        if (w->rows() == 0 || w->rows() > kMaxTowerWidth)
          throw fail(which + ": width " + std::to_string(w->rows()));
        check_matrix(w, which, w->rows(), width, false, rpm::DType_F32);
        if (l->bias()->size() != w->rows()) throw fail(which + ": one bias per unit expected");
        out.deep_.push_back({width, w->rows(), reinterpret_cast<const float*>(w->data()->data()),
                             l->bias()->data()});
        const LayerView& v = out.deep_.back();
        std::vector<float> t(static_cast<std::size_t>(v.in) * v.out);
        for (std::size_t k = 0; k < v.out; ++k)
          for (std::size_t i = 0; i < v.in; ++i) t[i * v.out + k] = v.weight[k * v.in + i];
        out.deep_transposed_.push_back(std::move(t));
        width = w->rows();
        out.widest_ = std::max(out.widest_, width);
      }
    }
    if (c->deep_head() == nullptr || c->deep_head()->size() != width)
      throw fail("the deep head does not match its last layer (width " + std::to_string(width) +
                 ")");
    out.deep_head_ = c->deep_head()->data();
    out.deep_bias_ = c->deep_bias();
  }
  if (!out.has_linear() && !out.fm_ && !out.has_deep()) throw fail("no part to score with");
  const auto& fields_in = fe.fields();
  for (std::uint32_t f = 0; f < fields_in.size(); ++f) {
    if (fields_in[f].kind == FeatureKind::kDense) continue;
    const auto& at = fe.placements()[f];
    for (std::uint32_t s = 0; s < fields_in[f].slots; ++s) {
      out.slot_lo_.push_back(static_cast<std::int32_t>(at.offset));
      out.slot_hi_.push_back(static_cast<std::int32_t>(at.offset + at.vocab));
      out.slot_span_.push_back(static_cast<std::uint32_t>(at.vocab));
      out.slot_field_.push_back(f);
    }
  }
  out.source_model_ = text_of(m->source_model());
  out.metadata_ = text_of(m->metadata());
  out.storage_ = std::move(storage);
  return out;
}

// ---------------------------------------------------------------- scoring

std::uint64_t CtrModel::parameter_count() const {
  const auto vocab = static_cast<std::uint64_t>(features_.vocab_size());
  const std::uint64_t dense = features_.dense();
  std::uint64_t n = 0;
  if (has_linear()) n += vocab + dense + 1;
  n += (vocab + dense) * dim_;
  for (const auto& l : deep_) n += static_cast<std::uint64_t>(l.in + 1) * l.out;
  if (has_deep()) n += (deep_.empty() ? embedded_fields_ * dim_ : deep_.back().out) + 1;
  return n;
}

std::uint64_t CtrModel::flops_per_row() const {
  const std::uint64_t slots = features_.slots(), dense = features_.dense();
  std::uint64_t f = 0;
  if (has_linear()) f += slots + 2 * dense + 1;
  const std::uint64_t units = static_cast<std::uint64_t>(embedded_fields_) * dim_;
  if (dim_ > 0) f += slots * dim_ + dense * dim_;  // pooling, dense fields' x_k v_k
  if (fm_) f += 3 * units + 2ULL * dim_;
  for (const auto& l : deep_) f += 2ULL * l.in * l.out + 2ULL * l.out;
  if (has_deep()) f += 2ULL * (deep_.empty() ? units : deep_.back().out) + 1;
  return f;
}

// One row's first-order and FM terms, and its field embeddings into e (ctr_model.h): a sparse
// field's value is the mean over its used slots (none used: 0), as the models pool. Instantiated
// per embedding dtype E and linear-weight dtype L, so the slot loop has no dtype branches.
template <DType E, DType L>
float CtrModel::embed_row(const std::int32_t* row, const float* x, float* e) const {
  const std::size_t dim = dim_, dense = features_.dense();
  const std::int32_t pad = static_cast<std::int32_t>(features_.vocab_size());
  const auto& fields = features_.fields();
  const auto& at = features_.placements();
  const std::uint32_t deep_fields = features_.deep_sparse_fields();
  float z = bias_;
  for (std::uint32_t i = 0; i < features_.sparse_fields(); ++i) {
    const std::int32_t* s = row + at[i].first_slot;
    const std::uint32_t n = fields[i].slots;
    float* ef = i < deep_fields && dim > 0 ? e + i * dim : nullptr;
    if (ef != nullptr) std::fill(ef, ef + dim, 0.0f);
    std::uint32_t used = 0;
    float w = 0;
    for (std::uint32_t k = 0; k < n; ++k) {
      const std::int32_t id = s[k];
      if (id == pad) continue;
      ++used;
      if (linear_ != nullptr) {
        if constexpr (L == DType::kF32)
          w += reinterpret_cast<const float*>(linear_)[id];
        else
          w += half_table()[reinterpret_cast<const std::uint16_t*>(linear_)[id]];
      }
      if (ef == nullptr) continue;
      const std::size_t r = static_cast<std::size_t>(id) * dim;
      if constexpr (E == DType::kF32) {
        const float* v = reinterpret_cast<const float*>(embedding_) + r;
        for (std::size_t c = 0; c < dim; ++c) ef[c] += v[c];
      } else if constexpr (E == DType::kF16) {
        const auto* v = reinterpret_cast<const std::uint16_t*>(embedding_) + r;
        const auto& half = half_table();
        for (std::size_t c = 0; c < dim; ++c) ef[c] += half[v[c]];
      } else {
        const auto* v = reinterpret_cast<const std::int8_t*>(embedding_) + r;
        const float scale = embedding_scales_[id];
        for (std::size_t c = 0; c < dim; ++c) ef[c] += scale * static_cast<float>(v[c]);
      }
    }
    if (used > 1) {
      const float inv = 1.0f / static_cast<float>(used);
      w *= inv;
      if (ef != nullptr)
        for (std::size_t c = 0; c < dim; ++c) ef[c] *= inv;
    }
    z += w;
  }
  for (std::size_t k = 0; k < dense; ++k) {
    if (dense_linear_ != nullptr) z += dense_linear_[k] * x[k];
    if (dim > 0) {
      float* ef = e + (deep_fields + k) * dim;
      const float* v = dense_vectors_ + k * dim;
      for (std::size_t c = 0; c < dim; ++c) ef[c] = x[k] * v[c];
    }
  }
  if (fm_) {
    // 0.5 sum_d ((sum_f e_fd)^2 - sum_f e_fd^2) (Rendle 2010, Lemma 3.1).
    float pairwise = 0;
    for (std::size_t c = 0; c < dim; ++c) {
      float sum = 0, squares = 0;
      for (std::size_t g = 0; g < embedded_fields_; ++g) {
        const float v = e[g * dim + c];
        sum += v;
        squares += v * v;
      }
      pairwise += sum * sum - squares;
    }
    z += 0.5f * pairwise;
  }
  return z;
}

void CtrModel::block_logits(const std::int32_t* ids, const float* values, std::size_t m,
                            float* out) const {
  const std::size_t slots = features_.slots(), dense = features_.dense();
  const std::size_t units = static_cast<std::size_t>(embedded_fields_) * dim_;
  thread_local std::vector<float> e, xa, xb;
  e.resize(units);
  if (has_deep()) {
    xa.resize(std::size_t{widest_} * kTowerBlock);
    xb.resize(std::size_t{widest_} * kTowerBlock);
  }
  using RowFn = float (CtrModel::*)(const std::int32_t*, const float*, float*) const;
  const bool f16_linear = linear_dtype_ == DType::kF16;
  const RowFn embed =
      dtype_ == DType::kF32   ? (f16_linear ? &CtrModel::embed_row<DType::kF32, DType::kF16>
                                            : &CtrModel::embed_row<DType::kF32, DType::kF32>)
      : dtype_ == DType::kF16 ? (f16_linear ? &CtrModel::embed_row<DType::kF16, DType::kF16>
                                            : &CtrModel::embed_row<DType::kF16, DType::kF32>)
                              : (f16_linear ? &CtrModel::embed_row<DType::kI8, DType::kF16>
                                            : &CtrModel::embed_row<DType::kI8, DType::kF32>);
  for (std::size_t j = 0; j < m; ++j) {
    out[j] = (this->*embed)(ids + j * slots, values + j * dense, e.data());
    if (!has_deep()) continue;
    if (m < kRowPathBelow) {
      out[j] += deep_row(e.data());
      continue;
    }
    for (std::size_t u = 0; u < units; ++u) xa[u * kTowerBlock + j] = e[u];
  }
  if (!has_deep() || m < kRowPathBelow) return;
  float* xin = xa.data();
  float* xout = xb.data();
  std::size_t width = units;
  for (const auto& l : deep_) {
    dense_relu(l.weight, l.bias, l.in, l.out, xin, m, xout);
    std::swap(xin, xout);
    width = l.out;
  }
  // The deep logit apart, then added: the same sums as deep_row's for a row alone.
  float deep[kTowerBlock];
  std::fill(deep, deep + m, deep_bias_);
  for (std::size_t k = 0; k < width; ++k) {
    const float h = deep_head_[k];
    const float* xk = xin + k * kTowerBlock;
    for (std::size_t j = 0; j < m; ++j) deep[j] += h * xk[j];
  }
  for (std::size_t j = 0; j < m; ++j) out[j] += deep[j];
}

float CtrModel::deep_row(const float* e) const {
  thread_local std::vector<float> a, b;
  a.resize(widest_);
  b.resize(widest_);
  const float* x = e;
  float* y = a.data();
  std::size_t width = static_cast<std::size_t>(embedded_fields_) * dim_;
  for (std::size_t l = 0; l < deep_.size(); ++l) {
    dense_relu_row(deep_transposed_[l].data(), deep_[l].bias, deep_[l].in, deep_[l].out, x, y);
    x = y;
    y = y == a.data() ? b.data() : a.data();
    width = deep_[l].out;
  }
  float z = deep_bias_;
  for (std::size_t k = 0; k < width; ++k) z += deep_head_[k] * x[k];
  return z;
}

void CtrModel::logits(const std::int32_t* ids, const float* values, std::size_t n,
                      float* out) const {
  const std::size_t slots = features_.slots(), dense = features_.dense();
  const std::int32_t pad = static_cast<std::int32_t>(features_.vocab_size());
  // Branch-free over the slots (it vectorises); the offending slot is looked up only on failure.
  for (std::size_t j = 0; j < n; ++j) {
    const std::int32_t* row = ids + j * slots;
    unsigned bad = 0;
    for (std::size_t s = 0; s < slots; ++s)
      bad |=
          static_cast<unsigned>(static_cast<std::uint32_t>(row[s] - slot_lo_[s]) >= slot_span_[s]) &
          static_cast<unsigned>(row[s] != pad);
    if (bad == 0) continue;
    for (std::size_t s = 0; s < slots; ++s) {
      if (row[s] == pad || (row[s] >= slot_lo_[s] && row[s] < slot_hi_[s])) continue;
      const auto& field = features_.fields()[slot_field_[s]];
      throw ModelError("row " + std::to_string(j) + ": id " + std::to_string(row[s]) +
                       " in a slot of field '" + field.name + "', whose ids are " +
                       std::to_string(slot_lo_[s]) + " .. " + std::to_string(slot_hi_[s] - 1));
    }
  }
  for (std::size_t j0 = 0; j0 < n; j0 += kTowerBlock) {
    const std::size_t m = std::min(kTowerBlock, n - j0);
    block_logits(ids + j0 * slots, values + j0 * dense, m, out + j0);
  }
}

void CtrModel::predict(const std::int32_t* ids, const float* values, std::size_t n,
                       float* out) const {
  logits(ids, values, n, out);
  for (std::size_t j = 0; j < n; ++j) out[j] = 1.0f / (1.0f + std::exp(-out[j]));
}

float CtrModel::predict(std::span<const RawValue> row) const {
  thread_local std::vector<std::int32_t> ids;
  thread_local std::vector<float> values;
  ids.resize(features_.slots());
  values.resize(std::max<std::size_t>(features_.dense(), 1));
  features_.encode(row, ids.data(), values.data());
  float p = 0;
  predict(ids.data(), values.data(), 1, &p);
  return p;
}

}  // namespace recpress::runtime
