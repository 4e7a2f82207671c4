// Writes the seed corpus of the dump fuzzer (tests/fuzz/corpus/): small valid
// dumps made with the shared DumpBuilder (the real DumpWriter), and damaged
// copies of them. Run by
// hand when the format changes:  build/tests/fuzz/make_fuzz_corpus tests/fuzz/corpus
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/dump_builder.h"

namespace {

using namespace leaktrace::format;
using leaktrace::test_support::DumpBuilder;

struct Spec {
  bool exact = true;
  int modules = 1;
  int stacks = 1;
  int depth = 3;
  bool fd_sites = false;
  bool health = true;
  bool unloaded = false;
  bool truncated = false;
  // Ages section: one record per site (bad_age_site: one naming a missing site).
  bool ages = false;
  bool bad_age_site = false;
};

std::vector<uint8_t> Make(const Spec& spec, uint32_t seed) {
  DumpBuilder b("server", 1000 + seed, 1 + seed % 3);
  b.Exact(spec.exact)
      .Trigger(static_cast<Trigger>(1 + seed % 3))
      .SnapshotTime(1700000000000000000 + seed, 5000000000 + seed)
      .StartTime(1700000000000000000, 1000)
      .ExePath("/usr/bin/server")
      .Argv({"server", "--port", "8080"});

  const std::string build_id = "\xde\xad\xbe\xef\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10";
  const char* paths[] = {"/usr/bin/server", "/lib/x86_64-linux-gnu/libc.so.6", "/opt/plugins/libplugin.so"};
  for (int i = 0; i < spec.modules; ++i) {
    const uint64_t bias = 0x555500000000ull + 0x10000000ull * i;
    Module m;
    m.path = paths[i % 3];
    m.build_id = i == 1 ? "" : build_id;
    m.load_bias = bias;
    m.flags = (i == 0 ? kModuleMainProgram : 0) | (spec.unloaded && i == 2 ? kModuleUnloaded : 0);
    m.segments = {{bias, bias + 0x1000, 0, 1}, {bias + 0x1000, bias + 0x8000, 0x1000, 5}};
    b.Module(std::move(m));
  }

  for (int s = 0; s < spec.stacks; ++s) {
    std::vector<uint64_t> pcs;
    for (int d = 0; d < spec.depth; ++d)
      pcs.push_back(0x555500000000ull + 0x10000000ull * (d % spec.modules) + 0x1000 + 0x10 * s + d);
    b.Stack(static_cast<uint32_t>(s + 1), std::move(pcs), spec.truncated ? kStackTruncated : 0);
  }

  for (int s = 0; s < spec.stacks; ++s) {
    Site r;
    r.resource = spec.fd_sites && s % 2 ? (s % 4 == 1 ? Resource::kFd : Resource::kMmap) : Resource::kHeap;
    r.stack_id = static_cast<uint32_t>(s + 1);
    r.live_count = 10 + s;
    r.live_bytes = 480 + 48 * s;
    r.alloc_count = 20 + s;
    r.alloc_bytes = 960 + 48 * s;
    r.var_live_count = spec.exact ? 0 : 3.5 * s;
    r.var_live_bytes = spec.exact ? 0 : 1234.5 * s;
    r.live_samples = spec.exact ? 0 : s;
    r.label = r.resource == Resource::kFd ? "socket" : r.resource == Resource::kMmap ? "/data/cache.bin" : "";
    b.Site(std::move(r));
  }

  if (spec.health) b.Health("stacks", spec.stacks).Health("dropped_stacks", 0);
  if (spec.ages) {
    for (int s = 0; s < spec.stacks; ++s)
      b.Age(static_cast<uint32_t>(s), 1000 + 1000000000ll * s, spec.exact ? 1.0 : 1.5 + s,
            static_cast<uint64_t>(48 * (s + 1)));
    if (spec.bad_age_site) b.Age(static_cast<uint32_t>(spec.stacks), 1000, 1.0, 8);
  }
  return b.Bytes();
}

void Save(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  const std::vector<std::pair<std::string, Spec>> valid = {
      {"valid-minimal", {.modules = 1, .stacks = 0, .health = false}},
      {"valid-one-site", {}},
      {"valid-sampled", {.exact = false, .stacks = 4}},
      {"valid-three-modules", {.modules = 3, .stacks = 3, .depth = 5}},
      {"valid-fd-mmap", {.modules = 2, .stacks = 6, .fd_sites = true}},
      {"valid-unloaded-plugin", {.modules = 3, .stacks = 2, .unloaded = true}},
      {"valid-truncated-stack", {.stacks = 2, .depth = 64, .truncated = true}},
      {"valid-deep", {.modules = 2, .stacks = 1, .depth = 256}},
      {"valid-ages", {.exact = false, .modules = 2, .stacks = 6, .fd_sites = true, .ages = true}},
  };
  uint32_t seed = 0;
  std::vector<uint8_t> base;
  for (const auto& [name, spec] : valid) {
    std::vector<uint8_t> bytes = Make(spec, seed++);
    Save(dir, name, bytes);
    if (name == "valid-fd-mmap") base = bytes;
  }

  // Damaged copies of one valid dump: each must be refused.
  auto damaged = [&](const std::string& name, std::vector<uint8_t> bytes) { Save(dir, "bad-" + name, bytes); };
  damaged("empty", {});
  damaged("magic", [&] { auto b = base; b[0] = 'X'; return b; }());
  damaged("newer-version", [&] { auto b = base; b[8] = 2; return b; }());
  damaged("header-only", std::vector<uint8_t>(base.begin(), base.begin() + 16));
  damaged("truncated-half", std::vector<uint8_t>(base.begin(), base.begin() + base.size() / 2));
  damaged("truncated-end", std::vector<uint8_t>(base.begin(), base.end() - 1));
  damaged("no-end", std::vector<uint8_t>(base.begin(), base.end() - 24));
  damaged("trailing", [&] { auto b = base; b.push_back(0); return b; }());
  damaged("flip-process", [&] { auto b = base; b[40] ^= 0x10; return b; }());
  damaged("flip-middle", [&] { auto b = base; b[b.size() / 2] ^= 0x01; return b; }());
  damaged("flip-checksum", [&] { auto b = base; b.back() ^= 0x80; return b; }());
  damaged("section-flags", [&] { auto b = base; b[16 + 4] = 1; return b; }());
  damaged("huge-length", [&] { auto b = base; b[16 + 15] = 0x7f; return b; }());
  Save(dir, "bad-age-site", Make({.stacks = 2, .ages = true, .bad_age_site = true}, seed++));
  damaged("garbage", std::vector<uint8_t>{'n', 'o', 't', ' ', 'a', ' ', 'd', 'u', 'm', 'p', '\n'});
  return 0;
}
