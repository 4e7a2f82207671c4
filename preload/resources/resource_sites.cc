#include "preload/resources/resource_sites.h"

#include <algorithm>

#include <atomic>

#include "preload/internal/dump_scratch.h"
#include "preload/resources/fd_kind.h"
#include "preload/resources/fd_table.h"
#include "preload/resources/mapping_table.h"

namespace leaktrace::preload {
namespace {

struct Mappings {
  MappingView* views;
  size_t capacity;
  size_t size;
};

void CopyMapping(const MappingView& v, void* ctx) {
  auto* m = static_cast<Mappings*>(ctx);
  if (m->size < m->capacity) m->views[m->size++] = v;
}

uint64_t Mix(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  return v;
}

}  // namespace

ResourceSites::~ResourceSites() {
  DumpScratchFree(sites_, capacity_ * sizeof(ResourceSite));
  DumpScratchFree(views_, views_bytes_);
  DumpScratchFree(threads_, threads_bytes_);
  DumpScratchFree(fd_views_, fd_views_bytes_);
}

bool ResourceSites::Reserve(size_t entries) {
  size_t capacity = 64;
  while (capacity < entries * 2) capacity *= 2;
  sites_ = static_cast<ResourceSite*>(DumpScratchAllocate(capacity * sizeof(ResourceSite)));  // zeroed
  if (sites_ == nullptr) return false;
  capacity_ = capacity;
  return true;
}

ResourceSite* ResourceSites::Find(format::Resource resource, uint32_t stack_id, uint32_t label_id, bool insert) {
  const uint64_t key = (static_cast<uint64_t>(stack_id) << 32) | label_id;
  const size_t mask = capacity_ - 1;
  for (size_t i = Mix(key ^ static_cast<uint64_t>(resource)) & mask;; i = (i + 1) & mask) {
    ResourceSite& s = sites_[i];
    if (s.key == key && s.resource == resource) return &s;
    if (s.key == 0) {
      if (!insert) return nullptr;
      if ((used_ + 1) * 2 > capacity_) return nullptr;  // cannot happen: sized from the walks
      s.key = key;
      s.resource = resource;
      s.index = UINT32_MAX;
      ++used_;
      return &s;
    }
  }
}

bool ResourceSites::Collect() {
  // Descriptors: count first, to size the table (a few may come and go
  // meanwhile; the margin covers them, the rest are dropped).
  uint64_t fds = 0;
  ForEachFd([&](int, uint32_t, uint32_t) { ++fds; });

  // Mappings: copied out under the table lock, then summed by origin so the
  // pieces of one partially unmapped mapping count once.
  Mappings m{nullptr, 0, 0};
  size_t views_bytes = 0;
  {
    MappingTableLock lock;
    m.capacity = MappingCount();
    if (m.capacity > 0) {
      views_bytes = m.capacity * sizeof(MappingView);
      m.views = static_cast<MappingView*>(DumpScratchAllocate(views_bytes));
      if (m.views == nullptr) return false;
      ForEachMapping(CopyMapping, &m);
    }
  }
  // Threads: copied out under the table's lock (a few created meanwhile
  // may not fit: they are in the next snapshot).
  const size_t thread_room = ThreadCount() + 16;
  const size_t threads_bytes = thread_room * sizeof(ThreadView);
  auto* threads = static_cast<ThreadView*>(DumpScratchAllocate(threads_bytes));
  if (threads == nullptr || !Reserve(fds + fds / 8 + 64 + m.size + thread_room)) {
    DumpScratchFree(threads, threads_bytes);
    DumpScratchFree(m.views, views_bytes);
    return false;
  }
  threads_ = threads;
  threads_bytes_ = threads_bytes;
  threads_size_ = CopyThreads(threads, thread_room);
  for (size_t i = 0; i < threads_size_; ++i) {
    const ThreadView& t = threads[i];
    if (ResourceSite* s = Find(format::Resource::kThread, t.stack_id, t.label_id)) {
      s->count += 1;
      s->bytes += static_cast<double>(t.stack_bytes);
    }
  }
  // Descriptors: a guessed kind (an open by absolute path) is checked now,
  // on the descriptor itself (fd_kind.h, VerifiedOpenedLabel). The program
  // runs on: if the slot changed meanwhile (closed, or replaced by dup2,
  // both of which forget the slot before the real call), the fstat may have
  // seen what came after, so the descriptor is left out, as one closed
  // during the walk. The seq_cst fence orders the re-read after the fstat:
  // the program's forget precedes its close in the kernel's order.
  const size_t fd_room = fds + fds / 8 + 64;
  fd_views_bytes_ = fd_room * sizeof(FdView);
  fd_views_ = static_cast<FdView*>(DumpScratchAllocate(fd_views_bytes_));
  if (fd_views_ == nullptr) {
    DumpScratchFree(m.views, views_bytes);
    return false;
  }
  ForEachFdWithBirth([&](int fd, uint32_t stack_id, uint32_t label_id, int64_t birth) {
    uint32_t label = label_id;
    if (label_id & kUnverifiedKind) {
      label = VerifiedOpenedLabel(fd, label_id);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!FdStillHolds(fd, stack_id, label_id, birth)) return;
    }
    if (fd_views_size_ == fd_room) return;  // more opened meanwhile than the margin: in the next snapshot
    if (ResourceSite* s = Find(format::Resource::kFd, stack_id, label)) {
      s->count += 1;
      ++fds_;
      fd_views_[fd_views_size_++] = FdView{s, birth};
    }
  });
  std::sort(m.views, m.views + m.size,
            [](const MappingView& a, const MappingView& b) { return a.origin < b.origin; });
  for (size_t i = 0; i < m.size; ++i) {
    const MappingView& v = m.views[i];
    ResourceSite* s = Find(format::Resource::kMmap, v.stack_id, v.label_id);
    if (s == nullptr) continue;
    if (i == 0 || m.views[i - 1].origin != v.origin) {
      s->count += 1;
      ++mappings_;
    }
    s->bytes += static_cast<double>(v.end - v.start);
  }
  // Kept (sorted by origin) for ForEachObject.
  views_ = m.views;
  views_size_ = m.size;
  views_bytes_ = views_bytes;
  return true;
}

}  // namespace leaktrace::preload
