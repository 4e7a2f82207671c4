/* An allocator that calls its own exported functions, as Electric Fence
   and DUMA do: malloc, calloc, valloc and posix_memalign call memalign,
   realloc calls malloc and free, each through the library's own import
   slots (default visibility, -fPIC: the calls go through the PLT, so to
   whatever definition comes first in symbol order). Preloaded after
   libleaktrace.so (preload_order_test.cc), those calls reach leaktrace's
   hooks from inside the allocator. A bump allocator over one reserved
   mapping, each block behind a 16-byte header; free and realloc abort on a
   pointer that is not the start of one of its blocks ("not mine"), as
   Electric Fence does. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA_BYTES ((size_t)4 << 30)
#define MAGIC 0x5e1fca11c0ffee00ull

struct header {
  uint64_t magic;
  uint64_t size;
};

static char* arena;
static _Atomic uintptr_t next_free;

static void die(const char* why) {
  (void)!write(2, why, strlen(why));
  abort();
}

static char* arena_start(void) {
  if (arena == NULL) {
    void* p = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) die("self_calling_malloc: no arena\n");
    char* expected = NULL;
    if (!__atomic_compare_exchange_n(&arena, &expected, (char*)p, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      munmap(p, ARENA_BYTES);
    uintptr_t none = 0;
    atomic_compare_exchange_strong(&next_free, &none, (uintptr_t)arena);
  }
  return arena;
}

static struct header* header_of(void* p) {
  char* a = arena_start();
  if ((char*)p < a + sizeof(struct header) || (char*)p >= a + ARENA_BYTES) die("self_calling_malloc: not mine\n");
  struct header* h = (struct header*)p - 1;
  if (h->magic != MAGIC) die("self_calling_malloc: not mine\n");
  return h;
}

void* memalign(size_t alignment, size_t size) {
  if (alignment < 16) alignment = 16;
  if ((alignment & (alignment - 1)) != 0 || size > ARENA_BYTES / 2) {
    errno = EINVAL;
    return NULL;
  }
  arena_start();
  for (;;) {
    uintptr_t at = atomic_load(&next_free);
    uintptr_t p = (at + sizeof(struct header) + alignment - 1) & ~(uintptr_t)(alignment - 1);
    uintptr_t end = p + ((size + 15) & ~(size_t)15);
    if (end > (uintptr_t)arena + ARENA_BYTES) {
      errno = ENOMEM;
      return NULL;
    }
    if (atomic_compare_exchange_weak(&next_free, &at, end)) {
      struct header* h = (struct header*)p - 1;
      h->magic = MAGIC;
      h->size = size;
      return (void*)p;
    }
  }
}

void* malloc(size_t size) { return memalign(16, size); }

void free(void* p) {
  if (p == NULL) return;
  header_of(p)->magic = 0;  /* a second free is "not mine" too */
}

void* calloc(size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  void* p = memalign(16, n * size);
  return p;  /* fresh mapping pages: zero already */
}

void* realloc(void* p, size_t size) {
  if (p == NULL) return malloc(size);
  const size_t old = header_of(p)->size;
  void* moved = malloc(size);
  if (moved == NULL) return NULL;
  memcpy(moved, p, old < size ? old : size);
  free(p);
  return moved;
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  void* p = memalign(alignment, size);
  if (p == NULL) return errno;
  *out = p;
  return 0;
}

void* aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }

void* valloc(size_t size) { return memalign(4096, size); }

size_t malloc_usable_size(void* p) { return p == NULL ? 0 : header_of(p)->size; }
