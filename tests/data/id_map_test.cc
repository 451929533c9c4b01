#include "data/id_map.h"

#include <gtest/gtest.h>

namespace recpress {
namespace {

TEST(IdMap, InternFindAndCompact) {
  IdMap m;
  EXPECT_EQ(m.intern("42"), 0);
  EXPECT_EQ(m.intern("7"), 1);
  EXPECT_EQ(m.intern("42"), 0);
  EXPECT_EQ(m.size(), 2);
  EXPECT_EQ(m.raw(1), "7");
  EXPECT_FALSE(m.find("8").has_value());
  m.intern("x");
  const auto remap = m.compact({1, 0, 1});
  EXPECT_EQ(remap, (std::vector<std::int32_t>{0, -1, 1}));
  EXPECT_EQ(m.size(), 2);
  EXPECT_EQ(*m.find("x"), 1);
  EXPECT_FALSE(m.find("7").has_value());
}

}  // namespace
}  // namespace recpress
