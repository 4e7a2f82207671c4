/* Two batches of leaks two seconds apart, from the same call sites, for the
   --older-than tests: heap blocks, descriptors, mappings. After the pause a
   first-batch mapping is grown by mremap (it keeps its birth) and a
   first-batch descriptor is dup'ed (the copy is new).
   Checkpoints: "first" right after batch 1, "second" after batch 2. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "step_protocol.h"

enum { kBlocks = 2000, kBlockSize = 4096, kFds = 5, kMaps = 3, kMapSize = 65536 };

static void* volatile sink;
static int first_fd = -1;
static void* first_map;

__attribute__((noinline)) static void leak_heap(void) {
  for (int i = 0; i < kBlocks; ++i) sink = malloc(kBlockSize);
}

__attribute__((noinline)) static void leak_fds(void) {
  for (int i = 0; i < kFds; ++i) {
    int fd = open("/dev/null", O_RDONLY);
    if (first_fd < 0) first_fd = fd;
  }
}

__attribute__((noinline)) static void leak_maps(void) {
  for (int i = 0; i < kMaps; ++i) {
    void* p = mmap(NULL, kMapSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (first_map == NULL) first_map = p;
  }
}

__attribute__((noinline)) static void leak_batch(void) {
  leak_heap();
  leak_fds();
  leak_maps();
}

__attribute__((noinline)) static void dup_one(void) { sink = (void*)(long)dup(first_fd); }

__attribute__((noinline)) static void grow_first_map(void) {
  sink = mremap(first_map, kMapSize, 2 * kMapSize, MREMAP_MAYMOVE);
}

int main(void) {
  void (*volatile batch)(void) = leak_batch;  /* one call site for both batches */
  for (int round = 0; round < 2; ++round) {
    batch();
    if (round == 0) {
      checkpoint("first");
      sleep(2);
      grow_first_map();
      dup_one();
    }
  }
  checkpoint("second");
  return 0;
}
