// The fuzzer's seed corpus doubles as a regression test of the reader in
// every build: valid-* seeds parse, bad-* seeds are refused with one line
// naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "format/dump_reader.h"

namespace leaktrace::format {
namespace {

namespace fs = std::filesystem;

TEST(FuzzCorpus, ValidSeedsParseAndDamagedOnesAreRefused) {
  int valid = 0, bad = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(FUZZ_CORPUS_DIR)) {
    const std::string name = e.path().filename().string();
    std::ifstream in(e.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (name.rfind("valid-", 0) == 0) {
      ++valid;
      EXPECT_NO_THROW(ParseDump(bytes, name)) << name;
    } else if (name.rfind("bad-", 0) == 0) {
      ++bad;
      try {
        ParseDump(bytes, name);
        ADD_FAILURE() << name << " was accepted";
      } catch (const DumpError& err) {
        EXPECT_EQ(std::string(err.what()).rfind(name + ": ", 0), 0u) << err.what();
      }
    }
  }
  EXPECT_GE(valid, 5);
  EXPECT_GE(bad, 10);
}

}  // namespace
}  // namespace leaktrace::format
