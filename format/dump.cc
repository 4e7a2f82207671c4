#include "format/dump.h"

#include <algorithm>

namespace leaktrace::format {

std::string Module::BuildIdHex() const {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(build_id.size() * 2);
  for (unsigned char c : build_id) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

Dump Dump::WithoutSites() const {
  Dump out;
  out.path = path;
  out.version = version;
  out.process = process;
  out.modules = modules;
  out.stacks = stacks;
  out.health = health;
  return out;
}

const Stack* Dump::FindStack(uint32_t id) const {
  auto it = std::lower_bound(stacks.begin(), stacks.end(), id,
                             [](const Stack& s, uint32_t v) { return s.id < v; });
  return it != stacks.end() && it->id == id ? &*it : nullptr;
}

const Module* Dump::FindModule(uint64_t address) const {
  // Loaded modules first: an unloaded module's range may since hold another.
  for (const Module& m : modules)
    if (!(m.flags & kModuleUnloaded) && m.Contains(address)) return &m;
  for (const Module& m : modules)
    if ((m.flags & kModuleUnloaded) && m.Contains(address)) return &m;
  return nullptr;
}

uint64_t Dump::MemoryFigure(const std::string& name, uint64_t otherwise) const {
  for (const auto& [key, value] : memory)
    if (key == name) return value;
  return otherwise;
}

bool Dump::HasMemoryFigure(const std::string& name) const {
  for (const auto& entry : memory)
    if (entry.first == name) return true;
  return false;
}

const char* ResourceName(Resource r) {
  switch (r) {
    case Resource::kHeap: return "heap";
    case Resource::kMmap: return "mmap";
    case Resource::kFd: return "fd";
    case Resource::kThread: return "thread";
  }
  return "unknown";
}

}  // namespace leaktrace::format
