// A C++ program for the exact-mode heap test: leaks through operator new,
// new[], std::string and std::vector, while exceptions are thrown and caught
// and containers churn. Keep the constants in step with heap_exact_test.cc.
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include "step_protocol.h"
}

namespace {
constexpr int kNewLeaks = 40;           // new Node: 64 bytes each
constexpr int kArrayLeaks = 15;         // new double[37]
constexpr int kStringLeaks = 30;        // std::string of 100 chars: 101-byte buffer
constexpr int kVectorLeaks = 12;        // std::vector<int>(50): 200-byte buffer
}  // namespace

struct Node {
  char payload[64];
};

std::vector<void*>* g_kept;  // never freed; reserved before "before"

__attribute__((noinline)) void leak_nodes() {
  for (int i = 0; i < kNewLeaks; ++i) g_kept->push_back(new Node());
}

__attribute__((noinline)) void leak_arrays() {
  for (int i = 0; i < kArrayLeaks; ++i) g_kept->push_back(new double[37]);
}

__attribute__((noinline)) void leak_strings() {
  for (int i = 0; i < kStringLeaks; ++i) {
    auto* s = new std::string(100, 'a' + i % 26);  // object (32 B) and buffer (101 B)
    g_kept->push_back(s);
  }
}

__attribute__((noinline)) void leak_vectors() {
  for (int i = 0; i < kVectorLeaks; ++i) {
    auto* v = new std::vector<int>(50, i);  // object (24 B) and buffer (200 B)
    g_kept->push_back(v);
  }
}

__attribute__((noinline)) void throw_and_catch(int i) {
  try {
    if (i >= 0) throw std::runtime_error("expected failure number " + std::to_string(i) + " of many, long enough to allocate");
  } catch (const std::exception& e) {
    if (e.what()[0] != 'e') std::abort();
  }
}

__attribute__((noinline)) void churn_balanced() {
  for (int round = 0; round < 2000; ++round) {
    throw_and_catch(round);
    std::map<int, std::string> m;
    for (int i = 0; i < 20; ++i) m[i] = std::string(40 + i, 'x');
    std::vector<std::unique_ptr<Node>> nodes;
    for (int i = 0; i < 10; ++i) nodes.push_back(std::make_unique<Node>());
    auto* array = new int[round % 50 + 1];
    delete[] array;
  }
}

int main() {
  g_kept = new std::vector<void*>();
  g_kept->reserve(1000);
  churn_balanced();
  checkpoint("before");
  leak_nodes();
  churn_balanced();
  leak_arrays();
  leak_strings();
  leak_vectors();
  churn_balanced();
  checkpoint("after");
  return 0;
}
