// C++ threads allocating by new[] and freeing by delete[] (heap_exact_test.cc):
// 4 threads, 200,000 blocks of 200-499 bytes each, then "ok". With jemalloc
// preloaded after leaktrace, jemalloc's own operator new[] hands out blocks
// past leaktrace's malloc while its operator delete[] frees them through
// free(): some begin a page with nothing mapped in front of them.
#include <cstdio>
#include <thread>
#include <vector>

int main() {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < 200000; ++i) {
        char* p = new char[200 + i % 300];
        p[0] = 1;
        asm volatile("" ::"r"(p) : "memory");
        delete[] p;
      }
    });
  for (std::thread& t : threads) t.join();
  std::printf("ok\n");
  return 0;
}
