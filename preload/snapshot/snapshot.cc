#include "preload/snapshot/snapshot.h"
#include "preload/internal/compiler.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "format/control_block.h"
#include "format/dump_name.h"
#include "format/dump_writer.h"
#include "preload/heap/age_table.h"
#include "preload/heap/block_header.h"
#include "preload/heap/spare_block.h"
#include "preload/internal/arena.h"
#include "preload/internal/dump_scratch.h"
#include "preload/internal/errno_kept.h"
#include "preload/snapshot/allocator_stats.h"
#include "preload/snapshot/control_block.h"
#include "preload/snapshot/writer_stack.h"
#include "preload/internal/log.h"
#include "preload/snapshot/module_map.h"
#include "preload/resources/unseen_fds.h"
#include "preload/resources/fd_table.h"
#include "preload/resources/label_table.h"
#include "preload/resources/mapping_table.h"
#include "preload/internal/private_fds.h"
#include "preload/snapshot/process_info.h"
#include "preload/snapshot/process_memory.h"
#include "preload/resources/resource_sites.h"
#include "preload/record/heap_peak.h"
#include "preload/record/shard_registry.h"
#include "preload/record/stack_table.h"
#include "preload/internal/health.h"
#include "preload/internal/mode.h"
#include "preload/record/unwind_cache.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {
namespace {

LT_FORK_LOCK pthread_mutex_t g_dump_lock = PTHREAD_MUTEX_INITIALIZER;
LT_FORK_STATE uint32_t g_seq = 0;
LT_FORK_STATE uint32_t g_last_seq = 0;
char g_last_path[4096 + 300] = {};  // empty while g_last_seq is 0
// A line about a dump not written was printed (once a process).
LT_FORK_STATE std::atomic<bool> g_warned_write{false};
// NoteReaderWaits: the next kSignal dump has `leaktrace snapshot` waiting.
LT_FORK_STATE std::atomic<bool> g_reader_waits{false};
// RefuseSnapshots: set for good (a fork child inherits the sandbox too).
std::atomic<bool> g_refused{false};
uint64_t g_events_during_read = 0;  // of the dump being built (dump lock)

// g_last_path, not read before a dump has been written: a page of it read
// for the first time is a page fault (at a short process's exit, or in a
// fork child's handler), and empty is what it would hold.
const char* LastPath() { return g_last_seq != 0 ? g_last_path : ""; }

// One site's totals summed over all shards.
struct SiteTotals {
  double alloc_count, alloc_bytes, free_count, free_bytes, var_count, var_bytes;
  int64_t live_samples;
  uint8_t state;  // kUnused, kUsed (some site uses it), kWritten (its stack is in the dump)
  bool heap;      // some shard has heap totals for it
  uint32_t site_index;  // its heap site's place in the sites section
};
constexpr uint8_t kUnused = 0, kUsed = 1, kWritten = 2;

void AddHealth(format::DumpWriter& w, uint64_t stacks, uint64_t sites, uint64_t ages, const ResourceSites& resources) {
  w.BeginSection(format::SectionType::kHealth);
  w.WriteHealth("tracker_mapped_bytes", g_tracker_bytes.load(std::memory_order_relaxed) + AgeTableBytes());
  w.WriteHealth("stacks", MaxStackId());
  w.WriteHealth("stack_table_slots", StackTableSlots());
  w.WriteHealth("stacks_written", stacks);
  if (const uint64_t why = g_health.heap_not_tracked.load(std::memory_order_relaxed); why != 0)
    w.WriteHealth("heap_not_tracked", why);
  w.WriteHealth("sites_written", sites);
  w.WriteHealth("shards", ShardCount());
  w.WriteHealth("dropped_stacks", g_health.dropped_stacks.load(std::memory_order_relaxed));
  w.WriteHealth("folded_stacks", g_health.folded_stacks.load(std::memory_order_relaxed));
  w.WriteHealth("max_stacks", g_config.max_stacks);
  w.WriteHealth("dropped_sites", g_health.dropped_sites.load(std::memory_order_relaxed));
  w.WriteHealth("busy_frees", g_health.busy_frees.load(std::memory_order_relaxed));
  w.WriteHealth("events_during_read", g_events_during_read);
  w.WriteHealth("unwind_cache_mismatches", g_health.unwind_cache_mismatches.load(std::memory_order_relaxed));
  w.WriteHealth("unsampled_aligned_allocations", g_health.unsampled_aligned.load(std::memory_order_relaxed));
  w.WriteHealth("orphan_events", g_health.orphan_events.load(std::memory_order_relaxed));
  w.WriteHealth("failed_dumps", g_health.failed_dumps.load(std::memory_order_relaxed));
  w.WriteHealth("live_fds", resources.fds());
  w.WriteHealth("live_mappings", resources.mappings());
  w.WriteHealth("live_threads", resources.threads());
  w.WriteHealth("untracked_threads", ThreadRecordFailures());
  w.WriteHealth("resource_labels", LabelCount());
  w.WriteHealth("untracked_fds", FdRecordFailures());
  w.WriteHealth("unseen_fds", UnseenFdsBooked());
  w.WriteHealth("age_sample_interval", g_mode == Mode::kExact ? kExactAgeSampleInterval : g_config.sample_interval);
  w.WriteHealth("age_records", ages);
  w.WriteHealth("age_table_full", AgeTableFull());
  w.WriteHealth("unwind_cache_bytes", UnwindCacheBytes());
  w.EndSection();
}

// One record per live object whose birth is known (docs/dump-format.md,
// ages): aged heap blocks, open descriptors, live mappings, live threads. Objects born
// after the snapshot's time, or whose site is not in the dump, are left out.
uint64_t AddAges(format::DumpWriter& w, const SiteTotals* totals, uint32_t max_id, ResourceSites& resources,
                 int64_t snapshot_ns) {
  uint64_t written = 0;
  w.BeginSection(format::SectionType::kAges);
  const bool exact = g_mode == Mode::kExact;  // entries without their weight (age_table.h)
  ForEachAgedBlock([&](const AgedBlock& b) {
    if (b.stack_id == 0 || b.stack_id > max_id || static_cast<int64_t>(b.birth_ns) > snapshot_ns) return;
    const SiteTotals& t = totals[b.stack_id];
    if (t.state != kWritten || !t.heap) return;
    const double weight = exact ? ExactAgedWeight(b.size) : b.weight;
    w.WriteAge(format::AgeRecord{t.site_index, static_cast<int64_t>(b.birth_ns), weight, b.size});
    ++written;
  });
  resources.ForEachObject([&](const ResourceSite& site, int64_t birth_ns, double bytes) {
    if (site.index == UINT32_MAX || birth_ns > snapshot_ns) return;
    w.WriteAge(format::AgeRecord{site.index, birth_ns, 1.0, static_cast<uint64_t>(bytes)});
    ++written;
  });
  w.EndSection();
  return written;
}

// The memory section (docs/dump-format.md, memory): what the kernel, the
// allocator and leaktrace know of the process's memory. `heap_live` and
// `heap_blocks`/`heap_samples` are the heap sites' totals just written.
// `a`: the allocator's view, read before the dump lock was taken (kUnknown
// from a signal handler).
void AddMemory(format::DumpWriter& w, const format::DumpBuffer& buffer, double heap_live, double heap_blocks,
               uint64_t heap_samples, const AllocatorStats& a) {
  const int64_t started_ns = MonotonicNs();
  const ProcessMemory m = ReadProcessMemory();
  const int64_t read_ns = MonotonicNs() - started_ns;
  const bool exact = g_mode == Mode::kExact;
  RaiseHeapPeak(heap_live > 0 ? static_cast<int64_t>(heap_live + 0.5) : 0);
  w.BeginSection(format::SectionType::kMemory);
  if (m.rss != 0) {
    w.WriteMemoryFigure("rss", m.rss);
    w.WriteMemoryFigure("rss_anon", m.rss_anon);
    w.WriteMemoryFigure("rss_file", m.rss_file);
    w.WriteMemoryFigure("rss_shmem", m.rss_shmem);
    w.WriteMemoryFigure("rss_peak", m.rss_peak);
    w.WriteMemoryFigure("swap", m.swap);
  }
  w.WriteMemoryFigure("heap_peak", static_cast<uint64_t>(HeapPeakBytes()));
  w.WriteMemoryFigure("heap_peak_error", static_cast<uint64_t>(kPeakFlushBytes) * (exact ? ShardCount() : BatchingShards()));
  // leaktrace's own bytes inside the allocator's blocks: exact mode's
  // 16-byte headers, sampled blocks' slack (block_header.h) and the spare
  // real blocks kept for later samples (spare_block.h).
  const double in_heap = exact ? heap_blocks * kExactHeaderBytes
                               : static_cast<double>(heap_samples) * kSampledSlack + SpareBytesHeld();
  w.WriteMemoryFigure("leaktrace_in_heap", in_heap > 0 ? static_cast<uint64_t>(in_heap) : 0);
  w.WriteMemoryFigure("leaktrace_mapped", g_tracker_bytes.load(std::memory_order_relaxed) + AgeTableBytes());
  w.WriteMemoryFigure("leaktrace_resident", m.leaktrace_resident);
  w.WriteMemoryFigure("leaktrace_dump_buffer", (buffer.size() + 4095) & ~uint64_t{4095});
  if (a.kind != AllocatorKind::kUnknown) {
    w.WriteMemoryFigure("allocator", static_cast<uint64_t>(a.kind));
    w.WriteMemoryFigure("allocator_in_use", a.in_use);
    w.WriteMemoryFigure("allocator_free", a.free);
    w.WriteMemoryFigure("allocator_resident", a.resident);
    w.WriteMemoryFigure("allocator_mapped", a.mapped);
  }
  if (m.mmap_measured) w.WriteMemoryFigure("mmap_resident", m.mmap_resident);
  if (m.stacks_measured) {
    w.WriteMemoryFigure("thread_stacks", m.thread_stacks);
    w.WriteMemoryFigure("threads", m.threads);
    w.WriteMemoryFigure("threads_unlocated", m.threads_unlocated);
    w.WriteMemoryFigure("leaktrace_stack", m.leaktrace_stack);
  }
  w.WriteMemoryFigure("read_ns", read_ns > 0 ? static_cast<uint64_t>(read_ns) : 0);
  w.WriteMemoryFigure("allocator_read_ns", a.read_ns);
  if (a.skipped) w.WriteMemoryFigure("allocator_skipped", 1);
  // Said, so that a reader tells "not asked" from "another allocator".
  if (a.in_handler) w.WriteMemoryFigure("written_in_handler", 1);
  w.EndSection();
}

// Builds the whole dump in `buffer`. Returns false when memory ran out.
bool BuildDump(format::DumpBuffer& buffer, format::Trigger trigger, uint32_t seq, const AllocatorStats& allocator) {
  format::DumpWriter w(buffer);
  format::ProcessRecord p;
  p.pid = static_cast<uint32_t>(g_process.pid);
  p.ppid = static_cast<uint32_t>(g_process.ppid);
  p.seq = seq;
  p.flags = (g_mode == Mode::kExact ? format::kProcessExactMode : 0) | (g_attached ? format::kProcessAttached : 0);
  p.trigger = trigger;
  p.sample_interval = g_config.sample_interval;
  p.snapshot_realtime_ns = RealtimeNs();
  p.snapshot_monotonic_ns = MonotonicNs();
  p.start_realtime_ns = g_process.start_realtime_ns;
  p.start_monotonic_ns = g_process.start_monotonic_ns;
  p.program = g_process.program;
  p.exe_path = ExePath();
  p.cmdline = g_process.cmdline;
  p.cmdline_size = g_process.cmdline_size;
  w.WriteProcess(p);
  WriteModules(w);

  // Descriptors, mappings and threads first: every stack they name is then at most
  // max_id below.
  ResourceSites resources;
  if (!resources.Collect()) return false;

  // Sum every shard into one array indexed by stack id.
  const uint32_t max_id = MaxStackId();
  const size_t totals_bytes = (static_cast<size_t>(max_id) + 1) * sizeof(SiteTotals);
  auto* totals = static_cast<SiteTotals*>(DumpScratchAllocate(totals_bytes));
  if (totals == nullptr) return false;
  // Shards are read while their owners go on writing: an allocation on one
  // thread freed on another between the two reads counts as live (or as a
  // negative). Not a consistent cut, so the dump says by how much it may be
  // off: the heap events recorded while it read (0: exact).
  auto events_now = [] {
    uint64_t n = 0;
    ForEachShard([&](const Shard& shard) { n += shard.events.load(std::memory_order_acquire); });
    return n;
  };
  const uint64_t events_before = events_now();
  const bool exact = ExactFigures();  // whole numbers or weighted sums (shard.h)
  ForEachShard([&](const Shard& shard) {
    shard.ForEachSite([&](const SiteCounters& c) {
      const uint32_t id = c.stack_id.load(std::memory_order_relaxed);
      if (id == 0 || id > max_id) return;  // a stack newer than this snapshot
      const SiteFigures f = ReadSiteFigures(c, exact);
      // Counters made ahead for a fork child's stack (unwind_cache.cc,
      // Learn) that no booking reached: no site.
      if (f.alloc_count == 0 && f.free_count == 0) return;
      SiteTotals& t = totals[id];
      t.alloc_count += f.alloc_count;
      t.alloc_bytes += f.alloc_bytes;
      t.free_count += f.free_count;
      t.free_bytes += f.free_bytes;
      t.var_count += f.var_count;
      t.var_bytes += f.var_bytes;
      t.live_samples += f.live_samples;
      t.state = kUsed;
      t.heap = true;
    });
  });
  g_events_during_read = events_now() - events_before;
  resources.ForEach([&](const ResourceSite& r) {
    const uint32_t id = static_cast<uint32_t>(r.key >> 32);
    if (id != 0 && id <= max_id) totals[id].state = kUsed;
  });

  uint64_t stacks_written = 0;
  w.BeginSection(format::SectionType::kStacks);
  ForEachStack([&](const StackView& s) {
    if (s.id > max_id || totals[s.id].state != kUsed) return;  // unused, or already written
    format::StackRecord r;
    r.id = s.id;
    r.flags = s.flags;
    r.pcs = s.pcs;
    r.depth = s.depth;
    w.WriteStack(r);
    ++stacks_written;
    totals[s.id].state = kWritten;
  });
  w.EndSection();

  uint64_t sites_written = 0;
  double heap_live = 0, heap_blocks = 0;
  uint64_t heap_samples = 0;
  w.BeginSection(format::SectionType::kSites);
  for (uint32_t id = 1; id <= max_id; ++id) {
    const SiteTotals& t = totals[id];
    if (t.state != kWritten || !t.heap) continue;
    format::SiteRecord r;
    r.resource = format::Resource::kHeap;
    r.stack_id = id;
    r.live_count = t.alloc_count - t.free_count;
    r.live_bytes = t.alloc_bytes - t.free_bytes;
    // Sampled figures: the live estimate is the sum of the live samples'
    // weights, so a site none of whose samples is live has none, whatever
    // the rounding of its weighted sums left (a buffer's batched steps,
    // growing_block.h, book turnovers that cancel only to the last bit).
    if (!exact && t.live_samples == 0) r.live_count = r.live_bytes = 0;
    r.alloc_count = t.alloc_count;
    r.alloc_bytes = t.alloc_bytes;
    r.var_live_count = t.var_count > 0 ? t.var_count : 0;
    r.var_live_bytes = t.var_bytes > 0 ? t.var_bytes : 0;
    r.live_samples = t.live_samples > 0 ? static_cast<uint64_t>(t.live_samples) : 0;
    w.WriteSite(r);
    heap_live += r.live_bytes;
    heap_blocks += r.live_count;
    heap_samples += r.live_samples;
    totals[id].site_index = static_cast<uint32_t>(sites_written++);
  }
  // Descriptors, mappings and threads: exact counts, never sampled.
  resources.ForEach([&](ResourceSite& site) {
    const uint32_t id = static_cast<uint32_t>(site.key >> 32);
    if (id == 0 || id > max_id || totals[id].state != kWritten) return;
    site.index = static_cast<uint32_t>(sites_written);
    format::SiteRecord r;
    r.resource = site.resource;
    r.stack_id = id;
    r.live_count = site.count;
    r.live_bytes = site.bytes;
    r.alloc_count = site.count;
    r.alloc_bytes = site.bytes;
    r.live_samples = static_cast<uint64_t>(site.count);
    r.label = LabelText(static_cast<uint32_t>(site.key));
    w.WriteSite(r);
    ++sites_written;
  });
  w.EndSection();
  const uint64_t ages = AddAges(w, totals, max_id, resources, p.snapshot_monotonic_ns);
  DumpScratchFree(totals, totals_bytes);
  AddHealth(w, stacks_written, sites_written, ages, resources);
  AddMemory(w, buffer, heap_live, heap_blocks, heap_samples, allocator);
  return w.Finish();
}

// `fd` is re-read before every write: a private descriptor moves if the
// program dup2s onto its number meanwhile (private_fds.h).
bool WriteAll(const std::atomic<int>& fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd.load(std::memory_order_acquire), data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

enum class Unnamed { kPublished, kFailed, kNotHere };

// Writes the buffer into a file with no name in the dump directory
// (O_TMPFILE), then links it in under `final_path`: no reader ever sees a
// partial file under that name, and a process killed while it writes (the
// OOM killer, during a big dump) leaves nothing behind, where a temporary
// name stayed in the directory. kNotHere when the file system makes no
// unnamed files, or the file cannot be linked (no /proc: a chroot); the
// caller then goes by a temporary name. Never over an existing name.
uint32_t NextFreeSeq();

// A name another process took between NextFreeSeq's look and the link (a
// process of the same pid in another pid namespace, writing to the same
// directory: `unshare --pid --fork`, bwrap) does not lose this dump: it
// takes the next free seq, in its name and inside it (format::RenumberDump),
// so many times at most.
constexpr int kRenumberTries = 16;

// The bytes RenumberDump changed, into the file `fd` already holds the dump in.
bool PatchRenumbered(const std::atomic<int>& fd, const format::DumpBuffer& buffer, bool sync) {
  constexpr size_t kSeq = format::DumpWriter::kSeqOffset, kSum = format::DumpWriter::kChecksumBytes;
  const size_t sum_at = buffer.size() - kSum;
  return pwrite(fd.load(), buffer.data() + kSeq, sizeof(uint32_t), static_cast<off_t>(kSeq)) ==
             static_cast<ssize_t>(sizeof(uint32_t)) &&
         pwrite(fd.load(), buffer.data() + sum_at, kSum, static_cast<off_t>(sum_at)) == static_cast<ssize_t>(kSum) &&
         (!sync || fsync(fd.load()) == 0);
}

Unnamed PublishUnnamed(format::DumpBuffer& buffer, uint32_t& seq, char* final_path, size_t final_size, bool sync,
                       char* why, size_t why_size, int& create_error) {
  static std::atomic<bool> not_here{false};  // learned once: the directory does not change
  if (not_here.load(std::memory_order_relaxed)) return Unnamed::kNotHere;
  std::atomic<int> fd{-1};
  if (OpenPrivateFd(g_config.dump_dir, O_TMPFILE | O_WRONLY, 0600, &fd) < 0) {
    // EISDIR: a kernel older than O_TMPFILE, which reads it as O_DIRECTORY.
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
      not_here.store(true, std::memory_order_relaxed);
      return Unnamed::kNotHere;
    }
    create_error = errno;
    snprintf(why, why_size, "cannot create %s: %s", final_path, strerrordesc_np(errno));
    return Unnamed::kFailed;
  }
  if (!WriteAll(fd, buffer.data(), buffer.size()) || (sync && fsync(fd.load()) != 0)) {
    snprintf(why, why_size, "cannot write %s: %s", final_path, strerrordesc_np(errno));
    ClosePrivateFd(fd.load());
    return Unnamed::kFailed;
  }
  char unnamed[32];
  snprintf(unnamed, sizeof unnamed, "/proc/self/fd/%d", fd.load());
  int rc = static_cast<int>(RawSyscall(SYS_linkat, AT_FDCWD, unnamed, AT_FDCWD, final_path, AT_SYMLINK_FOLLOW));
  int link_errno = errno;
  for (int tries = 0; rc != 0 && link_errno == EEXIST && tries < kRenumberTries; ++tries) {
    const uint32_t next = NextFreeSeq();
    if (!format::RenumberDump(buffer, next) || !PatchRenumbered(fd, buffer, sync)) break;
    seq = next;
    format::FormatDumpPath(final_path, final_size, g_config.dump_dir, g_process.program,
                           static_cast<uint32_t>(g_process.pid), seq, false);
    rc = static_cast<int>(RawSyscall(SYS_linkat, AT_FDCWD, unnamed, AT_FDCWD, final_path, AT_SYMLINK_FOLLOW));
    link_errno = errno;
  }
  ClosePrivateFd(fd.load());
  if (rc == 0) return Unnamed::kPublished;
  if (link_errno == EEXIST) {
    snprintf(why, why_size, "cannot link %s: %s", final_path, strerrordesc_np(link_errno));
    return Unnamed::kFailed;
  }
  if (link_errno == ENOENT || link_errno == EPERM || link_errno == EACCES || link_errno == EXDEV)
    not_here.store(true, std::memory_order_relaxed);
  return Unnamed::kNotHere;
}

// Writes the buffer into the dump directory under its final name, never
// partly visible there (by system calls of its own: a library that wraps
// the file functions and moves paths, as libfakechroot does, must not move
// the dump's): as an unnamed file linked in (PublishUnnamed), or
// where that cannot be, under a temporary name then renamed. On failure,
// says in `why` which step failed and the system's reason; `create_error`
// is errno when the file could not even be created, else 0. `sync`: fsync
// before the link or rename (not for the exit dump, which the program's
// exit waits for).
// `seq` may come back higher: the name was another process's (PublishUnnamed).
bool Publish(format::DumpBuffer& buffer, uint32_t& seq, char* final_path, size_t final_size, bool sync,
             char* why, size_t why_size, int& create_error) {
  create_error = 0;
  char temp_path[sizeof g_last_path];
  const auto pid = static_cast<uint32_t>(g_process.pid);
  format::FormatDumpPath(final_path, final_size, g_config.dump_dir, g_process.program, pid, seq, false);
  switch (PublishUnnamed(buffer, seq, final_path, final_size, sync, why, why_size, create_error)) {
    case Unnamed::kPublished: return true;
    case Unnamed::kFailed: return false;
    case Unnamed::kNotHere: break;
  }
  format::FormatDumpPath(temp_path, sizeof temp_path, g_config.dump_dir, g_process.program, pid, seq, true);
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
  std::atomic<int> fd{-1};
  if (OpenPrivateFd(temp_path, kFlags, 0600, &fd) < 0 && errno == EEXIST) {
    RawSyscall(SYS_unlink, temp_path);  // a leftover of a crashed earlier attempt (O_EXCL refuses links)
    OpenPrivateFd(temp_path, kFlags, 0600, &fd);
  }
  if (fd.load() < 0) {
    create_error = errno;
    snprintf(why, why_size, "cannot create %s: %s", temp_path, strerrordesc_np(errno));
    return false;
  }
  bool ok = WriteAll(fd, buffer.data(), buffer.size()) && (!sync || fsync(fd.load()) == 0);
  if (!ok) snprintf(why, why_size, "cannot write %s: %s", temp_path, strerrordesc_np(errno));
  ClosePrivateFd(fd.load());
  // Never over another process's dump of the same name (NextFreeSeq looked;
  // this closes the race); a file system that cannot say so renames plainly.
  if (ok && RawSyscall(SYS_renameat2, AT_FDCWD, temp_path, AT_FDCWD, final_path, RENAME_NOREPLACE) != 0 &&
      (errno != EINVAL || RawSyscall(SYS_rename, temp_path, final_path) != 0)) {
    snprintf(why, why_size, "cannot rename %s to %s: %s", temp_path, final_path, strerrordesc_np(errno));
    ok = false;
  }
  if (!ok) RawSyscall(SYS_unlink, temp_path);
  return ok;
}

// The last dump handed over (a private memfd), kept until the next one.
LT_FORK_STATE std::atomic<int> g_handover_fd{-1};

// For a process that may not create files in its dump directory (it dropped
// privileges; the directory is root's): keeps the dump in a memfd and says so
// in the control block, where `leaktrace snapshot`, run by root or the
// process's owner, finds it and writes the file itself. Dump lock held.
bool HandOver(const format::DumpBuffer& buffer, uint32_t seq, const char* final_path) {
  const int previous = g_handover_fd.exchange(-1, std::memory_order_acq_rel);
  if (previous >= 0) ClosePrivateFd(previous);
  {
    PrivateFdMaking making;
    const int fd = static_cast<int>(RawSyscall(SYS_memfd_create, format::control::kHandoverMemfdName, MFD_CLOEXEC));
    if (fd < 0 || AdoptPrivateFd(fd, &g_handover_fd) < 0) return false;
  }
  if (!WriteAll(g_handover_fd, buffer.data(), buffer.size())) {
    ClosePrivateFd(g_handover_fd.exchange(-1, std::memory_order_acq_rel));
    return false;
  }
  NoteHandedOverSnapshot(seq, g_handover_fd.load(std::memory_order_acquire), final_path);
  return true;
}

// An allocator that took longer than this to answer is not asked again for a while.
constexpr int64_t kSlowAllocatorReadNs = 50 * 1000 * 1000;

// The seq of the next dump: the next whose name is free. A dump of the same
// name is another process's with this pid (an earlier one whose pid was
// reused, the image this one exec'd from, a process of another pid
// namespace writing to the same directory) and is never replaced: this
// process's count goes on past it. Dump lock held.
uint32_t NextFreeSeq() {
  ErrnoKept errno_kept;  // a snapshot may run in a signal handler, inside any call of the program's
  char path[sizeof g_last_path];
  uint32_t seq = ++g_seq;
  for (int tries = 0; tries < 64; ++tries) {
    format::FormatDumpPath(path, sizeof path, g_config.dump_dir, g_process.program,
                           static_cast<uint32_t>(g_process.pid), seq, false);
    if (RawSyscall(SYS_access, path, F_OK) != 0) break;  // free (or not for us to know: the rename says)
    seq = ++g_seq;
  }
  return seq;
}

// A snapshot that failed: counted in the dump's health, told to `leaktrace
// snapshot` through the control block, said once on stderr. Dump lock held.
void NoteFailed(uint32_t seq, const char* why, bool exit_dump = false) {
  g_health.failed_dumps.fetch_add(1, std::memory_order_relaxed);
  NoteFailedSnapshot(seq, why);
  if (!g_warned_write.exchange(true, std::memory_order_relaxed)) {
    if (exit_dump)
      Log("cannot write the exit dump (%s); it is lost", why);
    else
      Log("cannot write snapshot %u (%s); the program goes on", seq, why);
  }
}

// A snapshot that fails before any of it is built (the writer's stack could
// not be mapped). Dump lock held; async-signal-safe.
void FailWithoutWriting(const char* why) {
  const uint32_t seq = NextFreeSeq();
  g_reader_waits.store(false, std::memory_order_relaxed);  // answered: it failed
  NoteFailed(seq, why);
  UpdateControlBlock(seq, g_last_seq, LastPath());
}

// The dump itself; g_dump_lock held.
uint32_t WriteLocked(format::Trigger trigger, bool sync, const AllocatorStats& allocator) {
  // Taken by this dump whatever becomes of it, so a later dump nobody waits
  // for still warns.
  const bool reader_waits =
      trigger == format::Trigger::kSignal && g_reader_waits.exchange(false, std::memory_order_relaxed);
  uint32_t seq = NextFreeSeq();  // higher after Publish when another process took its name
  UpdateControlBlock(seq, g_last_seq, LastPath());
  BeginDumpScratch();
  format::DumpBuffer buffer;
  char path[sizeof g_last_path];
  // Written only when something fails, so never touched otherwise (a page
  // touched is a page fault), and off the stack: 8 KiB less stack for the
  // calls below, whose frames then land on pages already in use.
  static char why[2 * sizeof g_last_path + 64];
  // Descriptors no hook saw made (resources/unseen_fds.h), booked before
  // the sites are collected.
  LookForUnseenFds(trigger == format::Trigger::kExit);
  const bool built = BuildDump(buffer, trigger, seq, allocator);
  if (!built) {
    static constexpr char kOutOfMemory[] = "out of memory";
    memcpy(why, kOutOfMemory, sizeof kOutOfMemory);
  }
  int create_error = 0;
  const bool ok = built && Publish(buffer, seq, path, sizeof path, sync, why, sizeof why, create_error);
  // ENOENT: the directory is not there as the process sees it now (it
  // chroot'ed, or entered another mount namespace), though `leaktrace
  // snapshot`, outside, finds it.
  const bool denied = create_error == EACCES || create_error == EPERM || create_error == EROFS || create_error == ENOENT;
  // No descriptor left (an fd leak: what the user came to find): no memfd
  // either, so the dump waits in the control block's own memfd.
  const bool no_fd = create_error == EMFILE || create_error == ENFILE;
  if (ok) {
    memcpy(g_last_path, path, strnlen(path, sizeof path - 1) + 1);  // not all 4 KiB: pages untouched stay unfaulted
    g_last_seq = seq;
  } else if ((denied || no_fd) &&
             (HandOver(buffer, seq, path) || HandOverInControlBlock(buffer.data(), buffer.size(), seq, path))) {
    // Not written, not lost: `leaktrace snapshot` writes it. When it asked
    // for this one, nothing is said (its own output tells). A signal or an
    // interval snapshot without a reader still warns, once. The exit dump
    // is lost with the process, whose memory holds it: said so.
    if (!reader_waits && !g_warned_write.exchange(true, std::memory_order_relaxed)) {
      if (trigger == format::Trigger::kExit)
        Log("cannot write the exit dump (%s); it is lost: give LEAKTRACE_DIR a directory the process can write", why);
      else
        Log("cannot write snapshot %u (%s); leaktrace snapshot PID, run by root or the owner, can still fetch it", seq,
            why);
    }
  } else {
    NoteFailed(seq, why, trigger == format::Trigger::kExit);
  }
  UpdateControlBlock(seq, g_last_seq, LastPath());
  // The process ends right after its exit dump: its buffer is left to exit.
  if (trigger == format::Trigger::kExit) buffer.Abandon();
  return ok ? seq : 0;
}

}  // namespace

void NoteReaderWaits() { g_reader_waits.store(true, std::memory_order_relaxed); }

namespace {

// What the writer may take of a stack (about 30 KiB), with room to spare.
constexpr uintptr_t kRoomForTheWriter = 256 * 1024;

// The exit dump's write, on the writer stack: its allocator figures in,
// its seq out. The dump lock held.
struct ExitWrite {
  const AllocatorStats& allocator;
  uint32_t seq;
};

void WriteExitDump(void* arg) {
  auto* write = static_cast<ExitWrite*>(arg);
  write->seq = WriteLocked(format::Trigger::kExit, false, write->allocator);
}

}  // namespace

uint32_t WriteSnapshot(format::Trigger trigger) {
  if (g_refused.load(std::memory_order_acquire)) return 0;
  // The allocator's locks are taken outside the dump lock: an allocator's
  // fork handler (jemalloc's) may run before ours and hold them all while
  // ours waits for the dump lock.
  // Asking can take long when the program's threads hammer the allocator
  // (glibc's arena locks are not fair: 0.4 s with four threads in a
  // malloc/free loop), so after a slow answer the next dumps, for ten times
  // as long as it took, go without (allocator_skipped).
  static std::atomic<int64_t> skip_until_ns{0};
  const int64_t started_ns = MonotonicNs();
  AllocatorStats allocator;
  bool skipped = started_ns < skip_until_ns.load(std::memory_order_relaxed);
  if (!skipped) {
    allocator = ReadAllocatorStats();
    const int64_t took_ns = MonotonicNs() - started_ns;
    allocator.read_ns = static_cast<uint64_t>(took_ns);
    if (took_ns > kSlowAllocatorReadNs) skip_until_ns.store(MonotonicNs() + 10 * took_ns, std::memory_order_relaxed);
  }
  allocator.skipped = skipped;
  pthread_mutex_lock(&g_dump_lock);
  uint32_t seq = 0;
  if (g_refused.load(std::memory_order_relaxed)) {
    // Nothing to write.
  } else if (trigger == format::Trigger::kExit) {
    // On the thread that called exit(), whose stack may be small (a
    // worker's of 16 KiB, a main thread under `ulimit -s 32`): on
    // leaktrace's own (writer_stack.h), or, when that cannot be mapped, on
    // this one as before.
    ExitWrite write{allocator, 0};
    if (RoomOnTheMainStack(kRoomForTheWriter) || !RunOnWriterStack(WriteExitDump, &write)) WriteExitDump(&write);
    seq = write.seq;
  } else {
    seq = WriteLocked(trigger, true, allocator);
  }
  pthread_mutex_unlock(&g_dump_lock);
  return seq;
}

namespace {

// TryWriteSnapshotFromHandler's write, on the handler stack, the dump lock
// held. The interrupted thread may hold the allocator's locks (glibc's
// mallinfo2 takes every arena's): the allocator is not asked, and the
// dump says why (written_in_handler).
void WriteFromHandler(void*) {
  AllocatorStats not_asked;
  not_asked.in_handler = true;
  WriteLocked(format::Trigger::kSignal, false, not_asked);
}

}  // namespace

bool TryWriteSnapshotFromHandler() {
  if (g_refused.load(std::memory_order_acquire)) return true;  // nothing to write, nothing left pending
  if (pthread_mutex_trylock(&g_dump_lock) != 0) return false;
  if (g_refused.load(std::memory_order_relaxed)) {
    pthread_mutex_unlock(&g_dump_lock);
    return true;
  }
  // On leaktrace's own stack (writer_stack.h): the interrupted thread's
  // may be too small for the writer. When that stack cannot be mapped (no
  // address space left: ulimit -v), neither could the dump's buffer be:
  // this snapshot fails, as one whose buffer could not grow does, and
  // `leaktrace snapshot` is told so rather than wait for it.
  if (!RunOnWriterStack(WriteFromHandler, nullptr)) FailWithoutWriting("out of memory");
  pthread_mutex_unlock(&g_dump_lock);
  return true;
}

bool SnapshotsRefused() { return g_refused.load(std::memory_order_acquire); }

void RefuseSnapshots(const char* reason) {
  pthread_mutex_lock(&g_dump_lock);  // a dump under way ends first
  g_refused.store(true, std::memory_order_release);
  NoteFailedSnapshot(format::control::kFailedForGood, reason);  // every snapshot from now on
  UpdateControlBlock(g_seq, g_last_seq, LastPath());
  pthread_mutex_unlock(&g_dump_lock);
}

void RefreshControlBlock() {
  pthread_mutex_lock(&g_dump_lock);
  UpdateControlBlock(g_seq, g_last_seq, LastPath());
  pthread_mutex_unlock(&g_dump_lock);
}

const char* LastDumpPath() { return LastPath(); }
uint32_t LastDumpSeq() { return g_last_seq; }

uint32_t SnapshotsBegun() {
  pthread_mutex_lock(&g_dump_lock);
  const uint32_t begun = g_seq;
  pthread_mutex_unlock(&g_dump_lock);
  return begun;
}

void SnapshotPrepareFork() { pthread_mutex_lock(&g_dump_lock); }
void SnapshotParentAfterFork() { pthread_mutex_unlock(&g_dump_lock); }
LT_FORK_CHILD_CODE void SnapshotChildAfterFork() {
  g_dump_lock = PTHREAD_MUTEX_INITIALIZER;
  g_seq = 0;
  g_last_seq = 0;  // and g_last_path is not read (LastPath): its pages are neither copied nor touched
  const int handover = g_handover_fd.exchange(-1, std::memory_order_acq_rel);  // the parent's
  if (handover >= 0) ClosePrivateFd(handover);
  g_warned_write.store(false, std::memory_order_relaxed);
  g_reader_waits.store(false, std::memory_order_relaxed);  // the parent's reader waits for the parent
}

}  // namespace leaktrace::preload
