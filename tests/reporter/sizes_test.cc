#include <gtest/gtest.h>

#include "reporter/sizes.h"

namespace leaktrace::reporter {
namespace {

TEST(ParseSize, Suffixes) {
  EXPECT_EQ(ParseSize("4096"), 4096u);
  EXPECT_EQ(ParseSize("4k"), 4096u);
  EXPECT_EQ(ParseSize("4K"), 4096u);
  EXPECT_EQ(ParseSize("2m"), 2u * 1024 * 1024);
  EXPECT_EQ(ParseSize("1g"), 1024u * 1024 * 1024);
  EXPECT_EQ(ParseSize("64KiB"), 64u * 1024);
  EXPECT_EQ(ParseSize("10kb"), 10u * 1024);
  EXPECT_EQ(ParseSize("1.5k"), 1536u);
  EXPECT_EQ(ParseSize("0"), 0u);
  EXPECT_EQ(ParseSize("7b"), 7u);
}

TEST(ParseSize, BadInput) {
  for (const char* bad : {"", "k", "-1", "4q", "4kx", "4 k", "1..2", ".", "abc", "99999999999g", "4bb", "4ib"})
    EXPECT_FALSE(ParseSize(bad).has_value()) << bad;
}

TEST(FormatBytes, HumanReadable) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(812), "812 B");
  EXPECT_EQ(FormatBytes(4800), "4.7 KiB");
  EXPECT_EQ(FormatBytes(1024 * 1024 * 1.25), "1.2 MiB");
  EXPECT_EQ(FormatBytes(1048575), "1.0 MiB");
  EXPECT_EQ(FormatBytes(-4800), "-4.7 KiB");
  EXPECT_EQ(FormatSignedBytes(4800), "+4.7 KiB");
  EXPECT_EQ(FormatSignedBytes(0), "0 B");
  EXPECT_EQ(FormatSignedBytes(-1), "-1 B");
}

TEST(FormatCount, GroupsThousands) {
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(-1000), "-1,000");
  EXPECT_EQ(FormatCount(-0.2), "0");
  EXPECT_EQ(FormatSignedCount(3), "+3");
  EXPECT_EQ(FormatSignedCount(0), "0");
}

}  // namespace
}  // namespace leaktrace::reporter
