// Descriptor and mapping sites for a snapshot: the live entries of fd_table
// and mapping_table summed by (resource, stack id, label). Built by the
// dumper (busy) in its own mapped memory; application threads go on.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/dump_layout.h"

namespace leaktrace::preload {

struct ResourceSite {
  uint64_t key;  // 0: empty slot; else stack_id << 32 | label_id
  format::Resource resource;
  double count;  // live descriptors / live mappings (mmap calls with something still mapped)
  double bytes;  // live mapped bytes (0 for descriptors)
};

class ResourceSites {
 public:
  ResourceSites() = default;
  ~ResourceSites();
  ResourceSites(const ResourceSites&) = delete;
  ResourceSites& operator=(const ResourceSites&) = delete;

  // Walks both tables. False when out of memory.
  bool Collect();

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < capacity_; ++i)
      if (sites_[i].key != 0) fn(sites_[i]);
  }
  uint64_t fds() const { return fds_; }
  uint64_t mappings() const { return mappings_; }

 private:
  ResourceSite* Find(format::Resource resource, uint32_t stack_id, uint32_t label_id);
  bool Reserve(size_t entries);

  ResourceSite* sites_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  uint64_t fds_ = 0, mappings_ = 0;
};

}  // namespace leaktrace::preload
