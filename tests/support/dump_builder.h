// Dumps for tests, built in memory and encoded by the preload library's own
// format::DumpWriter (never by a second encoder), so what a test reads is
// what the library writes. One builder for every test: the reporter's unit
// tests take the dump as the reader hands it over (Build), the command-line
// tests and the fuzz corpus take the bytes or a file (Bytes, WriteFile).
//
//   DumpBuilder("server", 100, 2).Exact()
//       .Module("/usr/bin/server", 0x555500000000)
//       .Stack(1, {0x555500001000, 0x555500002000})
//       .Site(format::Resource::kHeap, 1, 4800, 100)
//       .WriteFile(dir + "/server.100.2.dump");
//
// Sections are written in the library's order (process, modules, stacks,
// sites, ages, health, memory: preload/snapshot/snapshot.cc); modules,
// stacks and sites always, health when it has a counter, ages and memory
// when asked for.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/dump.h"
#include "format/dump_buffer.h"
#include "format/dump_writer.h"

namespace leaktrace::test_support {

class DumpBuilder {
 public:
  // The process `program` (pid, seq), sampled at 512 KiB, its snapshot `seq`
  // minutes after a fixed start: what the library writes by default.
  explicit DumpBuilder(std::string program = "server", uint32_t pid = 100, uint32_t seq = 1);

  // The name Build gives the dump, as the reader names a dump by its file.
  DumpBuilder& Path(std::string path);
  // --- the process ---
  DumpBuilder& Exact(bool exact = true);  // exact mode (interval 1), or sampled at 512 KiB
  DumpBuilder& SampleInterval(uint64_t bytes);
  DumpBuilder& Attached();                // started by `leaktrace attach`
  DumpBuilder& Trigger(format::Trigger trigger);
  DumpBuilder& Ppid(uint32_t ppid);
  DumpBuilder& ExePath(std::string path);
  DumpBuilder& Argv(std::vector<std::string> argv);
  DumpBuilder& SnapshotTime(int64_t realtime_ns, int64_t monotonic_ns);
  DumpBuilder& StartTime(int64_t realtime_ns, int64_t monotonic_ns);

  // --- modules ---
  // A module of one r-x segment of 1 MiB at `bias`.
  DumpBuilder& Module(const std::string& path, uint64_t bias, std::string build_id = "\x12\x34", uint32_t flags = 0);
  // The main program at `bias`: flagged kModuleMainProgram, and the process's exe_path.
  DumpBuilder& MainProgram(const std::string& path, uint64_t bias, std::string build_id = "\x12\x34");
  DumpBuilder& Module(format::Module module);  // any segments

  // --- stacks and sites ---
  DumpBuilder& Stack(uint32_t id, std::vector<uint64_t> pcs, uint16_t flags = 0);
  // A site on stack `stack` (which may be missing: see InMemory). Nothing
  // allocated beyond what is live is recorded; a variance of the bytes makes
  // the count's variance the count.
  DumpBuilder& Site(format::Resource resource, uint32_t stack, double bytes, double count, double var_bytes = 0,
                    std::string label = "");
  // A site on a stack of its own (the next free id) of the one frame
  // `offset` bytes into the first module, all it allocated still live: the
  // shortest way to sites that differ by where they were made.
  DumpBuilder& SiteAt(format::Resource resource, uint64_t offset, double bytes, double count, double var_bytes = 0,
                      std::string label = "");
  DumpBuilder& Site(format::Site site);  // every figure (allocated, variances, samples)

  // --- the other sections ---
  DumpBuilder& Health(std::string name, uint64_t value);
  // Asks for the ages section even while it holds no record.
  DumpBuilder& Ages();
  DumpBuilder& Age(uint32_t site, int64_t birth_monotonic_ns, double weight = 1, uint64_t size = 0);
  // Asks for the memory section even while it holds no figure.
  DumpBuilder& Memory();
  DumpBuilder& Memory(std::string name, uint64_t value);
  // Written last, before the end marker: what the builder does not make
  // (a repeated or damaged section), for tests of the reader's refusals.
  DumpBuilder& Then(std::function<void(format::DumpWriter&, format::DumpBuffer&)> write);
  // A section of type `type` whose payload is `payload`, as is.
  DumpBuilder& RawSection(uint32_t type, std::vector<uint8_t> payload);

  // --- the dump ---
  // The bytes format::DumpWriter wrote for it.
  std::vector<uint8_t> Bytes() const;
  // Writes Bytes() to `path`; false if it cannot.
  bool WriteFile(const std::string& path) const;
  // The dump as format::ParseDump reads Bytes() back, named
  // "PROGRAM.PID.SEQ.dump". Throws format::DumpError for what the reader
  // refuses.
  format::Dump Build() const;
  // The dump as given, stacks sorted by id, never encoded: for tests of what
  // the reader would refuse (a site whose stack is missing).
  format::Dump InMemory() const;

 private:
  format::Dump dump_;
  uint32_t next_stack_id_ = 1;  // above every stack id so far
  std::vector<std::function<void(format::DumpWriter&, format::DumpBuffer&)>> then_;
};

}  // namespace leaktrace::test_support
