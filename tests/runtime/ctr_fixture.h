// A tiny CTR model whose logits tests compute by hand (tests/runtime/ctr_model_test.cc) and that
// the server tests serve.
#pragma once

#include "runtime/ctr_model.h"

namespace recpress::runtime {

// color (OOV, red, blue: ids 0-2), tags (multi-hot, 2 slots; OOV, a, b: ids 3-5), price (dense).
inline CtrContent tiny_content() {
  CtrContent c;
  c.source_model = "deepfm:dim=1";
  FeatureField color{"color", FeatureKind::kCategorical, "", "", false, 0, {"red", "blue"}, {}, 1};
  FeatureField tags{"tags", FeatureKind::kMulti, "", "", false, 0, {"a", "b"}, {}, 2};
  FeatureField price{"price", FeatureKind::kDense, "", "", false, 0, {}, {}, 1};
  c.features = {color, tags, price};
  c.has_linear = true;
  c.linear = {-0.3f, 0.5f, 0.0f, 0.0f, 0.2f, 0.4f};
  c.dense_linear = {2.0f};
  c.bias = 0.1f;
  c.embedding.rows = 6;
  c.embedding.cols = 1;
  c.embedding.values = {0.5f, 1.0f, 0.0f, 0.0f, 2.0f, 4.0f};
  c.dense_vectors.rows = c.dense_vectors.cols = 1;
  c.dense_vectors.values = {0.5f};
  c.fm = true;
  c.has_deep = true;
  c.deep.resize(1);
  c.deep[0].weight.rows = 2;
  c.deep[0].weight.cols = 3;
  c.deep[0].weight.values = {1, 0, 0, 0, 1, -2};
  c.deep[0].bias = {0, -1};
  c.deep_head = {0.5f, -1.0f};
  c.deep_bias = 0.25f;
  return c;
}

}  // namespace recpress::runtime
