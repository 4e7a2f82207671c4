// A tiny heap for the allocations made before the real allocator is known
// (dlsym itself allocates). Blocks are never reused. Each block starts 64
// bytes into a page, like a sampled block, so a free of one already takes the
// slow path, which recognises the range. Thread-safe (atomic bump).
#pragma once

#include <cstddef>

namespace leaktrace::preload {

void* BootstrapAlloc(size_t size, size_t alignment);
bool IsBootstrapBlock(const void* p);
size_t BootstrapBlockSize(const void* p);

}  // namespace leaktrace::preload
