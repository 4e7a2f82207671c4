#include "preload/snapshot/module_map.h"
#include "preload/internal/compiler.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <type_traits>

#include "preload/internal/arena.h"
#include "preload/snapshot/process_info.h"
#include "preload/internal/libc_functions.h"

namespace leaktrace::preload {
namespace {

constexpr uint32_t kMaxSegments = 16;
constexpr uint32_t kMaxBuildId = 64;

// Allocated with room for its own segments only (SizeFor): a process's
// modules then fit the arena's first chunk, one mapping and one page where
// room for kMaxSegments each took three (a short process's exit dump is
// where the module map is first made).
struct KnownModule {
  KnownModule* next;
  char* path;
  uint64_t load_bias;
  uint8_t build_id[kMaxBuildId];
  uint32_t build_id_size;
  uint32_t flags;
  uint32_t segment_count;
  bool seen_now;
  format::SegmentRecord segments[kMaxSegments];  // the first segment_count only are allocated
};

static_assert(std::is_standard_layout_v<KnownModule>, "offsetof(KnownModule, segments) must be defined");
size_t SizeFor(uint32_t segments) { return offsetof(KnownModule, segments) + segments * sizeof(format::SegmentRecord); }

// Guards the arena and the list. Lock order: g_module_lock, then the
// loader's lock (dl_iterate_phdr); never the other way round, since nothing
// here runs inside a dl_iterate_phdr callback of someone else's.
LT_FORK_LOCK pthread_mutex_t g_module_lock = PTHREAD_MUTEX_INITIALIZER;
Arena g_module_arena;
KnownModule* g_modules = nullptr;

class ModuleLock {
 public:
  ModuleLock() { pthread_mutex_lock(&g_module_lock); }
  ~ModuleLock() { pthread_mutex_unlock(&g_module_lock); }
  ModuleLock(const ModuleLock&) = delete;
  ModuleLock& operator=(const ModuleLock&) = delete;
};

void ReadBuildId(const dl_phdr_info* info, const ElfW(Phdr)& ph, KnownModule& m) {
  const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
  const char* end = p + ph.p_memsz;
  while (p + sizeof(ElfW(Nhdr)) <= end) {
    const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
    const char* name = p + sizeof(ElfW(Nhdr));
    const char* desc = name + ((note->n_namesz + 3) & ~3u);
    if (desc + note->n_descsz > end) return;
    if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
        note->n_descsz <= kMaxBuildId) {
      memcpy(m.build_id, desc, note->n_descsz);
      m.build_id_size = note->n_descsz;
      return;
    }
    p = desc + ((note->n_descsz + 3) & ~3u);
  }
}

KnownModule* Find(const char* path, uint64_t bias) {
  for (KnownModule* m = g_modules; m; m = m->next)
    if (m->load_bias == bias && strcmp(m->path, path) == 0) return m;
  return nullptr;
}

int Visit(dl_phdr_info* info, size_t, void*) {
  const bool main_program = info->dlpi_name == nullptr || info->dlpi_name[0] == '\0';
  const char* path = main_program ? ExePath() : info->dlpi_name;
  if (KnownModule* known = Find(path, info->dlpi_addr)) {
    known->seen_now = true;
    known->flags &= ~format::kModuleUnloaded;
    return 0;
  }
  uint32_t loads = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) loads += info->dlpi_phdr[i].p_type == PT_LOAD;
  if (loads > kMaxSegments) loads = kMaxSegments;
  const size_t module_size = SizeFor(loads);
  auto* m = static_cast<KnownModule*>(g_module_arena.Allocate(module_size));
  const size_t path_size = strlen(path) + 1;
  char* path_copy = static_cast<char*>(g_module_arena.Allocate(path_size));
  if (m == nullptr || path_copy == nullptr) return 0;
  memset(static_cast<void*>(m), 0, module_size);  // an aggregate: its lifetime begins with the storage
  memcpy(path_copy, path, path_size);
  m->path = path_copy;
  m->load_bias = info->dlpi_addr;
  m->flags = main_program ? format::kModuleMainProgram : 0;
  m->seen_now = true;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_NOTE && m->build_id_size == 0) ReadBuildId(info, ph, *m);
    if (ph.p_type != PT_LOAD || m->segment_count == loads) continue;
    format::SegmentRecord& s = m->segments[m->segment_count++];
    s.start = info->dlpi_addr + ph.p_vaddr;
    s.end = s.start + ph.p_memsz;
    s.file_offset = ph.p_offset;
    s.prot = ((ph.p_flags & PF_R) ? 1u : 0u) | ((ph.p_flags & PF_W) ? 2u : 0u) | ((ph.p_flags & PF_X) ? 4u : 0u);
  }
  // This very function's code lies in libleaktrace's module, whatever the
  // file is called.
  const uint64_t here = reinterpret_cast<uintptr_t>(&Visit);
  for (uint32_t i = 0; i < m->segment_count; ++i)
    if (here >= m->segments[i].start && here < m->segments[i].end) m->flags |= format::kModuleLeaktrace;
  m->next = g_modules;
  g_modules = m;
  return 0;
}

}  // namespace

void RecordModules() {
  // Before start-up has named the executable, its entry would get no path.
  if (g_process.pid == 0) return;
  ModuleLock lock;
  LibcDlIteratePhdr(Visit, nullptr);
}

void ModuleMapPrepareFork() { pthread_mutex_lock(&g_module_lock); }
void ModuleMapParentAfterFork() { pthread_mutex_unlock(&g_module_lock); }
LT_FORK_CHILD_CODE void ModuleMapChildAfterFork() { g_module_lock = PTHREAD_MUTEX_INITIALIZER; }

void WriteModules(format::DumpWriter& writer) {
  ModuleLock lock;
  for (KnownModule* m = g_modules; m; m = m->next) m->seen_now = false;
  LibcDlIteratePhdr(Visit, nullptr);
  writer.BeginSection(format::SectionType::kModules);
  for (KnownModule* m = g_modules; m; m = m->next) {
    if (!m->seen_now) m->flags |= format::kModuleUnloaded;
    format::ModuleRecord r;
    r.path = m->path;
    r.build_id = m->build_id;
    r.build_id_size = m->build_id_size;
    r.load_bias = m->load_bias;
    r.flags = m->flags;
    r.segments = m->segments;
    r.segment_count = m->segment_count;
    writer.WriteModule(r);
  }
  writer.EndSection();
}

}  // namespace leaktrace::preload
