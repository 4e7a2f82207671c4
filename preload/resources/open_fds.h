// The descriptors the program has open now, read from /proc/self/fd: what
// `leaktrace attach` books as open "before attach" (attach.cc).
#pragma once

namespace leaktrace::preload {

// Writes the numbers of the process's open descriptors into `numbers` (at
// most `capacity`), leaving out leaktrace's own (private_fds.h) and the one
// it reads the directory through; returns how many there are (possibly
// more than `capacity`), or -1 when /proc/self/fd cannot be read.
//
// Another thread may be making one of leaktrace's descriptors meanwhile,
// which sits at the lowest free number, unregistered, until it is moved
// high: such a listing would hold it as the program's. So the listing
// counts only when no making was in progress or began while it was read
// (PrivateFdMakingsSettled); it is read again, up to `tries` times, 1 ms
// apart, and the last one is taken as it is. Raw system calls only; must
// not allocate.
long ListProgramFds(int* numbers, long capacity, int tries);

}  // namespace leaktrace::preload
