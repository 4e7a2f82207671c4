// Descriptor, mapping and thread sites for a snapshot: the live entries of
// fd_table, mapping_table and thread_table summed by (resource, stack id,
// label). Built by the
// dumper (busy, dump lock held) in the dump's working memory
// (dump_scratch.h); application threads go on.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/dump_layout.h"
#include "preload/resources/fd_table.h"
#include "preload/resources/mapping_table.h"
#include "preload/resources/thread_table.h"

namespace leaktrace::preload {

struct ResourceSite {
  uint64_t key;  // 0: empty slot; else stack_id << 32 | label_id
  format::Resource resource;
  double count;  // live descriptors / mappings (mmap calls with something still mapped) / threads
  double bytes;  // live mapped bytes; threads: their stack sizes; 0 for descriptors
  uint32_t index;  // its place in the dump's sites section, set by the dumper
};

class ResourceSites {
 public:
  ResourceSites() = default;
  ~ResourceSites();
  ResourceSites(const ResourceSites&) = delete;
  ResourceSites& operator=(const ResourceSites&) = delete;

  // Walks the three tables. False when out of memory.
  bool Collect();

  template <typename Fn>
  void ForEach(Fn&& fn) {  // fn(ResourceSite&): the dumper sets `index`
    if (used_ == 0) return;  // a table never written is never read either (its pages stay untouched)
    for (size_t i = 0; i < capacity_; ++i)
      if (sites_[i].key != 0) fn(sites_[i]);
  }
  // Every live object, for the dump's ages: fn(ResourceSite& site, int64_t
  // birth_ns, double bytes) once per open descriptor (as counted by Collect)
  // and once per live mapping
  // (per mmap call, as counted by Collect: bytes still mapped), and once per
  // live thread (as copied by Collect: its stack size).
  template <typename Fn>
  void ForEachObject(Fn&& fn);

  uint64_t fds() const { return fds_; }
  uint64_t mappings() const { return mappings_; }
  uint64_t threads() const { return threads_size_; }

 private:
  // With insert false: nullptr when there is no such site.
  ResourceSite* Find(format::Resource resource, uint32_t stack_id, uint32_t label_id, bool insert = true);
  bool Reserve(size_t entries);

  ResourceSite* sites_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  uint64_t fds_ = 0, mappings_ = 0;
  // The descriptors Collect counted, with their birth, kept for ForEachObject.
  struct FdView {
    ResourceSite* site;
    int64_t birth_ns;
  };
  FdView* fd_views_ = nullptr;
  size_t fd_views_size_ = 0, fd_views_bytes_ = 0;
  // The mappings Collect copied, sorted by origin; kept for ForEachObject.
  MappingView* views_ = nullptr;
  size_t views_size_ = 0, views_bytes_ = 0;
  // The threads Collect copied, kept for ForEachObject.
  ThreadView* threads_ = nullptr;
  size_t threads_size_ = 0, threads_bytes_ = 0;
};

template <typename Fn>
void ResourceSites::ForEachObject(Fn&& fn) {
  if (sites_ == nullptr) return;
  for (size_t i = 0; i < fd_views_size_; ++i) fn(*fd_views_[i].site, fd_views_[i].birth_ns, 0.0);
  for (size_t i = 0; i < views_size_;) {
    const MappingView& first = views_[i];
    double bytes = 0;
    for (; i < views_size_ && views_[i].origin == first.origin; ++i)
      bytes += static_cast<double>(views_[i].end - views_[i].start);
    if (ResourceSite* s = Find(format::Resource::kMmap, first.stack_id, first.label_id, false))
      fn(*s, first.birth_ns, bytes);
  }
  for (size_t i = 0; i < threads_size_; ++i) {
    const ThreadView& t = threads_[i];
    if (ResourceSite* s = Find(format::Resource::kThread, t.stack_id, t.label_id, false))
      fn(*s, t.birth_ns, static_cast<double>(t.stack_bytes));
  }
}

}  // namespace leaktrace::preload
