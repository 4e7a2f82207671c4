// An allocator preloaded after libleaktrace.so whose functions call one
// another through its own import slots, as Electric Fence's and DUMA's do
// (their malloc calls memalign, calloc calls malloc): bound in symbol
// order, those calls come to leaktrace's hooks from inside the allocator,
// which would take each for the program's own. In exact mode each added a
// header and called the allocator again, without end (a stack overflow);
// in sampled mode a sample taken inside the allocator's malloc handed it
// an offset block its free then refused. So those slots are pointed at
// the allocator's own definitions: its calls of its own functions are its
// business, and the call the program made is tracked once.
#pragma once

namespace leaktrace::preload {

// Points the import slots of the module that defines real.malloc, for the
// malloc family it defines itself, at its own definitions. Nothing for
// glibc's libc (its own calls of malloc, strdup's and fopen's, are made for
// the program and stay tracked) or an allocator that makes no such calls
// (jemalloc, tcmalloc, mimalloc call themselves directly). Start-up, after
// EnsureReal and before the hooks track anything; the thread busy; not from
// inside a dl_iterate_phdr callback.
void BindAllocatorToItself();

}  // namespace leaktrace::preload
