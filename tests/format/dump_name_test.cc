// Dump file names: the library formats them by hand (no printf code in a
// short process's exit); the result must be what snprintf gave, cut-off
// included, and parse back.
#include "format/dump_name.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace leaktrace::format {
namespace {

std::string BySnprintf(size_t size, const char* dir, const char* program, uint32_t pid, uint32_t seq, bool temporary,
                       int* length) {
  std::string out(size, 'x');
  *length = temporary ? snprintf(out.data(), size, "%s/.%s.%u.%u.dump.tmp", dir, program, pid, seq)
                      : snprintf(out.data(), size, "%s/%s.%u.%u.dump", dir, program, pid, seq);
  return out;
}

TEST(DumpName, FormattedAsSnprintfWouldIncludingCutOff) {
  const struct {
    const char* dir;
    const char* program;
    uint32_t pid, seq;
  } cases[] = {{"/tmp/d", "server", 1234, 1},
               {"/var/lib/leaktrace/dumps", "my.prog.v2", 0, 0},
               {".", "a", UINT32_MAX, UINT32_MAX},
               {"", "", 7, 4000000000u}};
  for (const auto& c : cases) {
    for (bool temporary : {false, true}) {
      for (size_t size : {size_t{1}, size_t{5}, size_t{17}, size_t{30}, size_t{4096}}) {
        int expected_length = 0;
        const std::string expected = BySnprintf(size, c.dir, c.program, c.pid, c.seq, temporary, &expected_length);
        std::string got(size, 'x');
        const int length = FormatDumpPath(got.data(), size, c.dir, c.program, c.pid, c.seq, temporary);
        EXPECT_EQ(length, expected_length) << c.dir << " " << c.program << " size " << size;
        EXPECT_EQ(got, expected) << c.dir << " " << c.program << " size " << size;
      }
    }
  }
}

TEST(DumpName, AFormattedNameParsesBack) {
  char path[256];
  FormatDumpPath(path, sizeof path, "/tmp/d", "my.prog", 4321, 17, false);
  EXPECT_STREQ(path, "/tmp/d/my.prog.4321.17.dump");
  const auto name = ParseDumpName("my.prog.4321.17.dump");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->program, "my.prog");
  EXPECT_EQ(name->pid, 4321u);
  EXPECT_EQ(name->seq, 17u);
  FormatDumpPath(path, sizeof path, "/tmp/d", "my.prog", 4321, 17, true);
  EXPECT_STREQ(path, "/tmp/d/.my.prog.4321.17.dump.tmp");
}

}  // namespace
}  // namespace leaktrace::format
