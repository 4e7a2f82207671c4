// pprof export: dumps as a gzipped profile.proto (reporter/pprof/profile.proto)
// for `go tool pprof`, Pyroscope, Parca and other pprof readers.
//
// What goes in:
// - Sample types, by resource (values of one site, in this order):
//     heap: alloc_objects/count, alloc_space/bytes, inuse_objects/count,
//           inuse_space/bytes (the order of Go's heap profiles), default
//           inuse_space; period_type space/bytes, period the sampling
//           interval in bytes (1 in exact mode). For sampled dumps the
//           values are the dump's unbiased estimates, rounded.
//     mmap: inuse_mappings/count, inuse_mapped_space/bytes (default the
//           latter); period_type space/bytes, period 1.
//     fd:   inuse_fds/count; period_type fds/count, period 1.
//     thread: inuse_thread_stack_space/bytes, inuse_threads/count (default);
//           period_type threads/count, period 1.
//   Mappings and descriptors are never sampled and the dump keeps no count
//   of those ever made, so they get no alloc_* types.
// - One mapping per module (same build id, or same path when there is none),
//   the main executable first; filename the path, build_id in hex.
// - One location per distinct return address, address as recorded (return
//   addresses, not call sites), its lines the symbolized frames, innermost
//   inline frame first. Unknown functions are named as in leaktrace's
//   reports ("libfoo.so+0x1a2b"). Frames of leaktrace itself are left out.
// - One sample per distinct (stack, label): fd and mmap sites carry their
//   label (descriptor kind, mapping kind, thread state) under the key "fd",
//   "mmap" or "thread"; a
//   stack cut at the recording depth carries "truncated" = "true".
// - time_nanos: the newest snapshot; duration_nanos: from process start (or,
//   with a base, from the newest base snapshot) to it; comments name each
//   dump and its sampling mode.
#pragma once

#include <string>
#include <vector>

#include "format/dump.h"
#include "reporter/model.h"
#include "reporter/pprof/profile.pb.h"
#include "reporter/symbolize.h"

namespace leaktrace::reporter::pprof {

// The profile of the `resource` sites of `dumps` (merged: equal stacks add
// up) minus those of `base` (may be empty; when given, values are growth and
// may be negative, as in `go tool pprof -base`). Dumps of several processes
// share mappings by build id; their addresses are moved into the address
// space of the first dump that has the module, so equal code gets one
// location. `source` symbolizes as in FromDump.
perftools::profiles::Profile BuildProfile(const std::vector<const format::Dump*>& dumps,
                                          const std::vector<const format::Dump*>& base, Resource resource,
                                          const FrameSource& source);

// BuildProfile, serialized and gzipped: the bytes of a .pb.gz file.
std::string RenderPprof(const std::vector<const format::Dump*>& dumps, const std::vector<const format::Dump*>& base,
                        Resource resource, const FrameSource& source);

}  // namespace leaktrace::reporter::pprof
