// The C library's own dl_iterate_phdr, dladdr and dladdr1, past any library
// that wraps them: libfakechroot wraps all three, and its wrappers, reached
// from leaktrace's constructor before libfakechroot had started, crashed
// every process run under fakechroot's chroot (debootstrap and mmdebstrap's
// fakechroot mode). Found in libc's own symbol table (elf_symbols.h), libc
// found in the loader's list of modules (_r_debug): no call another library
// can wrap, no allocation. Where that fails, the global symbol.
//
// Any thread. The first call resolves all three (LibcFunctionsResolve at
// start-up does it before the program has threads).
#pragma once

#include <dlfcn.h>
#include <link.h>

#include <cstddef>

namespace leaktrace::preload {

using PhdrCallback = int (*)(dl_phdr_info* info, size_t size, void* data);

int LibcDlIteratePhdr(PhdrCallback callback, void* data);
int LibcDladdr(const void* address, Dl_info* info);
int LibcDladdr1(const void* address, Dl_info* info, void** extra, int flags);

// Start-up (EnsureInitialized): resolves them now.
void LibcFunctionsResolve();

}  // namespace leaktrace::preload
