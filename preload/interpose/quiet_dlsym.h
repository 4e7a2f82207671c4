// dlsym for leaktrace's own lookups, leaving no error behind.
//
// A dlsym that finds nothing leaves its error message with the C library
// until the next dlerror or dlsym, which frees it through free(). A
// pass-through interposer preloaded after leaktrace whose free resolves the
// next free lazily (dlsym(RTLD_NEXT, "free") inside free: the textbook
// malloc counter) then had its first dlsym free that message through its own
// free, which called dlsym, which freed it again: unbounded recursion,
// SIGSEGV before main, whenever leaktrace looked up a name no module
// defines (jemalloc's mallocx behind such an interposer). Taking the message
// with dlerror frees it the same way. So a name no module defines is not
// asked of dlsym at all.
#pragma once

namespace leaktrace::preload {

// dlsym(handle, name) for RTLD_NEXT (the modules after this library) and
// RTLD_DEFAULT (every module), nullptr without a call when none of those
// modules defines a function `name` (read from their own tables: no
// allocation); any other handle goes to dlsym.
void* QuietDlsym(void* handle, const char* name);

}  // namespace leaktrace::preload
