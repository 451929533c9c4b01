// The inner-product index: high recall against exact search on a random catalog, scores equal to
// the exact ones, seen items excluded, and clear refusals (tower models, bad parameters).
#include "runtime/mips_index.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace recpress::runtime {
namespace {

ModelContent random_dot_model(std::uint32_t users, std::uint32_t items, std::uint32_t dim) {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  ModelContent c;
  c.source_model = "mf:dim=" + std::to_string(dim);
  c.users = {users, dim, {}};
  c.items = {items, dim, {}};
  for (std::size_t k = 0; k < std::size_t{users} * dim; ++k) c.users.values.push_back(normal(gen));
  for (std::size_t k = 0; k < std::size_t{items} * dim; ++k) c.items.values.push_back(normal(gen));
  for (std::uint32_t u = 0; u < users; ++u) c.user_ids.push_back(std::to_string(u));
  for (std::uint32_t i = 0; i < items; ++i) c.item_ids.push_back(std::to_string(i));
  c.bias = 0.5f;
  c.seen_offsets.push_back(0);
  for (std::uint32_t u = 0; u < users; ++u) {  // user u has items u, u + 1, ..., u + 4
    for (std::uint32_t j = 0; j < 5; ++j) c.seen_items.push_back((u + j) % items);
    c.seen_offsets.push_back(static_cast<std::uint32_t>(c.seen_items.size()));
  }
  return c;
}

TEST(MipsIndex, FindsTheExactTopItemsWithHighRecall) {
  ASSERT_TRUE(mips_available()) << "built without hnswlib (run.sh installs libhnswlib-dev)";
  const Model m = Model::from_bytes(encode_model(random_dot_model(40, 3000, 16), DType::kF32));
  const MipsIndex index(m, MipsOptions::parse("hnsw:m=16,ef=128"));
  double hits = 0;
  for (std::uint32_t u = 0; u < m.num_users(); ++u) {
    const auto exact = m.recommend(u, 10, false);
    const auto approx = index.recommend(u, 10, false);
    ASSERT_EQ(approx.size(), 10u);
    std::set<std::uint32_t> truth;
    for (const auto& [i, s] : exact) truth.insert(i);
    for (std::size_t r = 0; r < approx.size(); ++r) {
      hits += truth.count(approx[r].first);
      if (r > 0) {
        EXPECT_GE(approx[r - 1].second, approx[r].second);  // best first
      }
      // The score is the model's score of that item.
      std::vector<float> all(m.num_items());
      m.score_all(u, all.data());
      EXPECT_NEAR(approx[r].second, all[approx[r].first], 1e-4);
    }
  }
  EXPECT_GE(hits / (10.0 * m.num_users()), 0.95);  // recall@10
}

TEST(MipsIndex, ExcludesSeenItemsAndRefusesWhatItCannotIndex) {
  ASSERT_TRUE(mips_available()) << "built without hnswlib (run.sh installs libhnswlib-dev)";
  const Model m = Model::from_bytes(encode_model(random_dot_model(10, 200, 8), DType::kI8));
  const MipsIndex index(m, MipsOptions::parse("hnsw"));
  for (std::uint32_t u = 0; u < m.num_users(); ++u) {
    const auto top = index.recommend(u, 20, true);
    EXPECT_EQ(top.size(), 20u);
    for (const auto& [i, s] : top) {
      for (const auto seen : m.seen(u)) EXPECT_NE(i, seen) << "user " << u;
    }
  }
  EXPECT_THROW(index.recommend(99, 5, false), ModelError);
  EXPECT_THROW(MipsOptions::parse("faiss"), ModelError);
  EXPECT_THROW(MipsOptions::parse("hnsw:ef=0"), ModelError);
  EXPECT_THROW(MipsOptions::parse("hnsw:depth=3"), ModelError);
  EXPECT_THROW(MipsOptions::parse("hnsw:m=x"), ModelError);
  // An MLP tower is not an inner product.
  ModelContent tower = random_dot_model(3, 20, 2);
  tower.mlp_users = {3, 2, std::vector<float>(6, 0.1f)};
  tower.mlp_items = {20, 2, std::vector<float>(40, 0.1f)};
  tower.head = {1.0f, 1.0f};
  const Model t = Model::from_bytes(encode_model(tower, DType::kF32));
  EXPECT_THROW(MipsIndex(t, MipsOptions{}), ModelError);
}

}  // namespace
}  // namespace recpress::runtime
