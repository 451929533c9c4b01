#include "core/format.h"

#include <gtest/gtest.h>

#include <string>

namespace recpress {
namespace {

// Ratios are stated one way, always >= 1 (issue 22: "1/0.8 of the bytes" for a bigger student).
TEST(Format, TimesStatesARatioOneWay) {
  EXPECT_EQ(times(434.0, 55.0, "smaller", "larger"), "7.9x smaller");  // 434 / 55 = 7.89
  EXPECT_EQ(times(100.0, 125.0, "smaller", "larger"), "1.2x larger");  // 125 / 100 = 1.25 (even)
  EXPECT_EQ(times(115.5, 3.0, "faster", "slower"), "38x faster");      // 38.5: no digit above 10
  EXPECT_EQ(times(2.0, 2.0, "smaller", "larger"), "1.0x larger");
  EXPECT_EQ(times(0.0, 2.0, "smaller", "larger"), "-");  // undefined, not "inf"
}

TEST(Format, ExactTextParsesBackToTheSameDouble) {
  for (const double v : {0.001, 0.1 + 0.2, 2e-3, 1.0 / 3.0, 12345.678})
    EXPECT_EQ(std::stod(exact_text(v)), v) << exact_text(v);
  EXPECT_EQ(exact_text(0.5), "0.5");
}

TEST(Format, Numbers) {
  EXPECT_EQ(with_commas(1234567), "1,234,567");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(signed_percent(4.04), "+4.0%");
}

}  // namespace
}  // namespace recpress
