// Wrappers of tcmalloc's (gperftools') own API, the tc_* functions. In
// gperftools, malloc and tc_malloc are one function (an alias), and so are
// free and tc_free, realloc and tc_realloc, ...: those tc_* names are
// replaced by leaktrace's own malloc-family hooks. The C++ entry points
// (tc_new, tc_delete, ... which throw or call the new-handler on failure, or
// take a size or alignment) get wrappers that keep that behaviour. tc_nallocx,
// tc_mallinfo, tc_version and the rest touch no block and stay tcmalloc's.
#include <malloc.h>
#include <stdlib.h>

#include "preload/interpose/native_api.h"
#include "preload/heap/native_heap.h"
#include "preload/interpose/real_functions.h"

// leaktrace's hooks (hooks_malloc.cc).
extern "C" {
void* malloc(size_t);
void free(void*);
void* calloc(size_t, size_t);
void* realloc(void*, size_t);
void* memalign(size_t, size_t);
int posix_memalign(void**, size_t, size_t);
void* valloc(size_t);
void* pvalloc(size_t);
size_t malloc_usable_size(void*);
}

namespace leaktrace::preload {
namespace {

// Where the aliases' real definitions are kept (only compared, never called).
void* real_tc_malloc;
void* real_tc_malloc_skip_new_handler;
void* real_tc_free;
void* real_tc_cfree;
void* real_tc_calloc;
void* real_tc_realloc;
void* real_tc_memalign;
void* real_tc_posix_memalign;
void* real_tc_valloc;
void* real_tc_pvalloc;
void* real_tc_malloc_size;
void* real_tc_delete;
void* real_tc_deletearray;

// The C++ entry points. An alignment is std::align_val_t (a size_t), a
// nothrow tag a const std::nothrow_t& (a pointer): same calling convention.
using NewFn = void* (*)(size_t);
using NewNothrowFn = void* (*)(size_t, const void*);
using NewAlignedFn = void* (*)(size_t, size_t);
using NewAlignedNothrowFn = void* (*)(size_t, size_t, const void*);
using DeleteNothrowFn = void (*)(void*, const void*);
using DeleteSizedFn = void (*)(void*, size_t);
using DeleteAlignedNothrowFn = void (*)(void*, size_t, const void*);
using DeleteSizedAlignedFn = void (*)(void*, size_t, size_t);

NewFn real_tc_new, real_tc_newarray;
NewNothrowFn real_tc_new_nothrow, real_tc_newarray_nothrow;
NewAlignedFn real_tc_new_aligned, real_tc_newarray_aligned;
NewAlignedNothrowFn real_tc_new_aligned_nothrow, real_tc_newarray_aligned_nothrow;
DeleteNothrowFn real_tc_delete_nothrow, real_tc_deletearray_nothrow;
DeleteSizedFn real_tc_free_sized, real_tc_delete_sized, real_tc_deletearray_sized, real_tc_delete_aligned,
    real_tc_deletearray_aligned;
DeleteAlignedNothrowFn real_tc_delete_aligned_nothrow, real_tc_deletearray_aligned_nothrow;
DeleteSizedAlignedFn real_tc_delete_sized_aligned, real_tc_deletearray_sized_aligned;

// A raw allocation through one of the new functions above, chosen by `Fn`.
// `arg` carries the nothrow tag where there is one. Natural alignment for
// new is 16 on x86-64, as for malloc.
template <NewFn* Fn>
void* RawNew(size_t total, size_t, uintptr_t) { return (*Fn)(total); }
template <NewNothrowFn* Fn>
void* RawNewNothrow(size_t total, size_t, uintptr_t tag) { return (*Fn)(total, reinterpret_cast<const void*>(tag)); }
template <NewAlignedFn* Fn>
void* RawNewAligned(size_t total, size_t alignment, uintptr_t) { return (*Fn)(total, alignment < 16 ? 16 : alignment); }
template <NewAlignedNothrowFn* Fn>
void* RawNewAlignedNothrow(size_t total, size_t alignment, uintptr_t tag) {
  return (*Fn)(total, alignment < 16 ? 16 : alignment, reinterpret_cast<const void*>(tag));
}

template <NewFn* Fn>
void* New(size_t size) { return NativeAllocate(size, 0, false, true, RawNew<Fn>, 0); }
template <NewNothrowFn* Fn>
void* NewNothrow(size_t size, const void* tag) {
  return NativeAllocate(size, 0, false, true, RawNewNothrow<Fn>, reinterpret_cast<uintptr_t>(tag));
}
template <NewAlignedFn* Fn>
void* NewAligned(size_t size, size_t alignment) { return NativeAllocate(size, alignment, false, true, RawNewAligned<Fn>, 0); }
template <NewAlignedNothrowFn* Fn>
void* NewAlignedNothrow(size_t size, size_t alignment, const void* tag) {
  return NativeAllocate(size, alignment, false, true, RawNewAlignedNothrow<Fn>, reinterpret_cast<uintptr_t>(tag));
}

// A tracked block goes back as a plain free of the real block: tcmalloc
// finds its size itself (a size hint for a block tcmalloc resized in place
// could name the wrong size class). Returns false for an untracked block,
// which the caller passes on unchanged.
bool ReleaseTracked(void* p) {
  if (p == nullptr || LT_LIKELY(SurelyPlain(p))) return false;
  const BlockRef b = ClassifyBlock(p);
  if (b.kind == BlockRef::kPlain) return false;
  if (b.kind == BlockRef::kBootstrap) return true;  // never reused
  ForgetBlock(p, b);
  real.free(b.base);
  return true;
}

template <DeleteNothrowFn* Fn>
void DeleteNothrow(void* p, const void* tag) {
  if (!ReleaseTracked(p)) (*Fn)(p, tag);
}
template <DeleteSizedFn* Fn>
void DeleteSized(void* p, size_t n) {  // also the aligned deletes: (p, alignment)
  if (!ReleaseTracked(p)) (*Fn)(p, n);
}
template <DeleteAlignedNothrowFn* Fn>
void DeleteAlignedNothrow(void* p, size_t alignment, const void* tag) {
  if (!ReleaseTracked(p)) (*Fn)(p, alignment, tag);
}
template <DeleteSizedAlignedFn* Fn>
void DeleteSizedAligned(void* p, size_t n, size_t alignment) {
  if (!ReleaseTracked(p)) (*Fn)(p, n, alignment);
}

template <typename F>
void* Fn(F f) { return reinterpret_cast<void*>(f); }
template <typename F>
void** Slot(F* f) { return reinterpret_cast<void**>(f); }

}  // namespace

// Built on first use: the table holds function addresses, which C++ does not
// count as constants, and static initialisers run after leaktrace's
// start-up constructor.
NativeFamily TcmallocFamily() {
  static NativeFunction functions[] = {
    // Aliases of the malloc family: leaktrace's hooks already do it all.
    {"tc_malloc", Fn(&malloc), &real_tc_malloc, true},
    {"tc_free", Fn(&free), &real_tc_free, true},
    {"tc_realloc", Fn(&realloc), &real_tc_realloc, true},
    {"tc_malloc_size", Fn(&malloc_usable_size), &real_tc_malloc_size, true},
    {"tc_calloc", Fn(&calloc), &real_tc_calloc, false},
    {"tc_cfree", Fn(&free), &real_tc_cfree, false},
    {"tc_memalign", Fn(&memalign), &real_tc_memalign, false},
    {"tc_posix_memalign", Fn(&posix_memalign), &real_tc_posix_memalign, false},
    {"tc_valloc", Fn(&valloc), &real_tc_valloc, false},
    {"tc_pvalloc", Fn(&pvalloc), &real_tc_pvalloc, false},
    {"tc_malloc_skip_new_handler", Fn(&malloc), &real_tc_malloc_skip_new_handler, false},
    {"tc_delete", Fn(&free), &real_tc_delete, false},
    {"tc_deletearray", Fn(&free), &real_tc_deletearray, false},
    // The C++ entry points.
    {"tc_new", Fn(&New<&real_tc_new>), Slot(&real_tc_new), false},
    {"tc_newarray", Fn(&New<&real_tc_newarray>), Slot(&real_tc_newarray), false},
    {"tc_new_nothrow", Fn(&NewNothrow<&real_tc_new_nothrow>), Slot(&real_tc_new_nothrow), false},
    {"tc_newarray_nothrow", Fn(&NewNothrow<&real_tc_newarray_nothrow>), Slot(&real_tc_newarray_nothrow), false},
    {"tc_new_aligned", Fn(&NewAligned<&real_tc_new_aligned>), Slot(&real_tc_new_aligned), false},
    {"tc_newarray_aligned", Fn(&NewAligned<&real_tc_newarray_aligned>), Slot(&real_tc_newarray_aligned), false},
    {"tc_new_aligned_nothrow", Fn(&NewAlignedNothrow<&real_tc_new_aligned_nothrow>),
     Slot(&real_tc_new_aligned_nothrow), false},
    {"tc_newarray_aligned_nothrow", Fn(&NewAlignedNothrow<&real_tc_newarray_aligned_nothrow>),
     Slot(&real_tc_newarray_aligned_nothrow), false},
    {"tc_delete_nothrow", Fn(&DeleteNothrow<&real_tc_delete_nothrow>), Slot(&real_tc_delete_nothrow), false},
    {"tc_deletearray_nothrow", Fn(&DeleteNothrow<&real_tc_deletearray_nothrow>), Slot(&real_tc_deletearray_nothrow),
     false},
    {"tc_free_sized", Fn(&DeleteSized<&real_tc_free_sized>), Slot(&real_tc_free_sized), false},
    {"tc_delete_sized", Fn(&DeleteSized<&real_tc_delete_sized>), Slot(&real_tc_delete_sized), false},
    {"tc_deletearray_sized", Fn(&DeleteSized<&real_tc_deletearray_sized>), Slot(&real_tc_deletearray_sized), false},
    {"tc_delete_aligned", Fn(&DeleteSized<&real_tc_delete_aligned>), Slot(&real_tc_delete_aligned), false},
    {"tc_deletearray_aligned", Fn(&DeleteSized<&real_tc_deletearray_aligned>), Slot(&real_tc_deletearray_aligned),
     false},
    {"tc_delete_aligned_nothrow", Fn(&DeleteAlignedNothrow<&real_tc_delete_aligned_nothrow>),
     Slot(&real_tc_delete_aligned_nothrow), false},
    {"tc_deletearray_aligned_nothrow", Fn(&DeleteAlignedNothrow<&real_tc_deletearray_aligned_nothrow>),
     Slot(&real_tc_deletearray_aligned_nothrow), false},
    {"tc_delete_sized_aligned", Fn(&DeleteSizedAligned<&real_tc_delete_sized_aligned>),
     Slot(&real_tc_delete_sized_aligned), false},
    {"tc_deletearray_sized_aligned", Fn(&DeleteSizedAligned<&real_tc_deletearray_sized_aligned>),
     Slot(&real_tc_deletearray_sized_aligned), false},
};
  return {"tcmalloc", functions, sizeof functions / sizeof functions[0]};
}

}  // namespace leaktrace::preload
