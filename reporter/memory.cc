#include "reporter/memory.h"

#include <algorithm>
#include <cmath>

namespace leaktrace::reporter {

const char* AllocatorName(uint64_t id) {
  switch (id) {
    case 1: return "glibc";
    case 2: return "jemalloc";
    case 3: return "tcmalloc";
  }
  return "";
}

MemoryParts MemoryOf(const format::Dump& dump) {
  MemoryParts m;
  if (!dump.has_memory || !dump.HasMemoryFigure("rss")) return m;
  auto figure = [&](const char* name) { return static_cast<double>(dump.MemoryFigure(name)); };
  m.known = true;
  for (const format::Site& s : dump.sites)
    if (s.resource == format::Resource::kHeap) {
      m.heap += s.live_bytes;
      m.heap_var += s.var_live_bytes;
    }
  m.heap = std::round(m.heap);
  m.rss = figure("rss");
  m.rss_anon = figure("rss_anon");
  m.rss_file = figure("rss_file");
  m.rss_shmem = figure("rss_shmem");
  m.rss_peak = figure("rss_peak");
  m.heap_peak = std::max(figure("heap_peak"), m.heap);
  m.heap_peak_error = figure("heap_peak_error");
  const double in_heap = figure("leaktrace_in_heap");
  // leaktrace_resident is what its mappings hold resident; a library that
  // did not measure it wrote leaktrace_mapped only (virtual, an upper bound).
  const double own = dump.HasMemoryFigure("leaktrace_resident") ? figure("leaktrace_resident") : figure("leaktrace_mapped");
  m.leaktrace = own + in_heap + figure("leaktrace_stack") + figure("leaktrace_dump_buffer");
  m.allocator = AllocatorName(dump.MemoryFigure("allocator"));
  if (!m.allocator.empty()) {
    m.allocator_in_use = figure("allocator_in_use");
    m.allocator_held = figure("allocator_resident") - m.heap - in_heap;
    m.allocator_free = m.allocator_held;
    m.allocator_untracked_in_use = std::max(0.0, m.allocator_in_use - m.heap - in_heap);
  } else if (dump.HasMemoryFigure("written_in_handler")) {
    m.allocator_not_asked = kNotAskedInHandler;
  } else if (dump.HasMemoryFigure("allocator_skipped")) {
    m.allocator_not_asked = kNotAskedAfterSlowAnswer;
  }
  m.mmap = figure("mmap_resident");
  m.mmap_measured = dump.HasMemoryFigure("mmap_resident");
  m.stacks_measured = dump.HasMemoryFigure("thread_stacks");
  m.thread_stacks = figure("thread_stacks");
  m.threads = figure("threads");
  m.threads_unlocated = figure("threads_unlocated");
  // Resident at most what anonymous memory the other parts leave, and what
  // the RSS leaves (the mappings may be anonymous too): the rest of what
  // the allocator holds was never touched, or was paged out.
  double room = m.rss - m.heap - m.mmap - m.thread_stacks - m.leaktrace;
  if (dump.HasMemoryFigure("rss_anon")) room = std::min(room, m.rss_anon - m.heap - m.thread_stacks - m.leaktrace);
  if (m.allocator_free > std::max(0.0, room)) m.allocator_free = std::max(0.0, room);
  m.unexplained = m.rss - m.heap - m.allocator_free - m.mmap - m.thread_stacks - m.leaktrace;
  return m;
}

MemoryParts WithoutAllocator(MemoryParts m) {
  m.unexplained += m.allocator_free;
  m.allocator_free = 0;
  m.allocator_held = 0;
  m.allocator_in_use = 0;
  m.allocator_untracked_in_use = 0;
  m.allocator.clear();
  return m;
}

namespace {

// Every figure of MemoryParts, once: processes add up in all of them; a
// growth is after - before, but for a variance or an error bound (`error`),
// which adds.
struct Figure {
  double MemoryParts::*member;
  bool error;
};
constexpr Figure kFigures[] = {
    {&MemoryParts::rss, false},          {&MemoryParts::heap, false},
    {&MemoryParts::allocator_free, false}, {&MemoryParts::mmap, false},
    {&MemoryParts::thread_stacks, false}, {&MemoryParts::leaktrace, false},
    {&MemoryParts::unexplained, false},  {&MemoryParts::heap_var, true},
    {&MemoryParts::heap_peak, false},    {&MemoryParts::heap_peak_error, true},
    {&MemoryParts::rss_anon, false},     {&MemoryParts::rss_file, false},
    {&MemoryParts::rss_shmem, false},    {&MemoryParts::rss_peak, false},
    {&MemoryParts::allocator_in_use, false}, {&MemoryParts::threads, false},
    {&MemoryParts::threads_unlocated, false}, {&MemoryParts::allocator_held, false},
    {&MemoryParts::allocator_untracked_in_use, false},
};

bool AnyWithoutAllocator(const std::vector<MemoryParts>& parts) {
  for (const MemoryParts& m : parts)
    if (m.allocator.empty()) return true;
  return false;
}

}  // namespace

MemoryParts SumMemory(const std::vector<MemoryParts>& in) {
  MemoryParts sum;
  if (in.empty()) return sum;
  std::vector<MemoryParts> parts = in;
  if (AnyWithoutAllocator(parts))
    for (MemoryParts& m : parts) m = WithoutAllocator(m);
  sum.known = true;
  sum.allocator = parts[0].allocator;
  for (const MemoryParts& m : parts) {
    if (!m.known) return MemoryParts{};
    if (m.allocator != sum.allocator) sum.allocator.clear();
    if (sum.allocator_not_asked.empty()) sum.allocator_not_asked = m.allocator_not_asked;
    sum.mmap_measured = sum.mmap_measured && m.mmap_measured;
    sum.stacks_measured = sum.stacks_measured && m.stacks_measured;
    for (const Figure& f : kFigures) sum.*f.member += m.*f.member;
  }
  return sum;
}

MemoryParts MemoryGrowth(const MemoryParts& before_in, const MemoryParts& after_in) {
  if (!before_in.known || !after_in.known) return MemoryParts{};
  const bool drop = before_in.allocator.empty() || after_in.allocator.empty();
  const MemoryParts before = drop ? WithoutAllocator(before_in) : before_in;
  const MemoryParts after = drop ? WithoutAllocator(after_in) : after_in;
  MemoryParts g;
  g.known = true;
  g.allocator = before.allocator == after.allocator ? after.allocator : "";  // mixed: neither's figures
  g.mmap_measured = before.mmap_measured && after.mmap_measured;
  g.stacks_measured = before.stacks_measured && after.stacks_measured;
  g.allocator_not_asked = !after.allocator_not_asked.empty() ? after.allocator_not_asked : before.allocator_not_asked;
  for (const Figure& f : kFigures)
    g.*f.member = f.error ? after.*f.member + before.*f.member : after.*f.member - before.*f.member;
  return g;
}

}  // namespace leaktrace::reporter
