// leaktrace_attach: tracking started in a running process. `leaktrace
// attach` (cli/attach/) makes one thread of the process dlopen this library
// (its constructor sees it is not interposed and does nothing) and then call
// leaktrace_attach. From there:
//  1. initialise from the settings text, with everything passing through
//     (g_mode kInert): every hook forwards to the real function;
//  2. start what a preloaded library starts (control block, dumper thread);
//  3. point every loaded module's imports of the hooked functions at the
//     hooks (GOT rewrite, native_api.h), libc's own calls of malloc included,
//     and have modules loaded later rewritten the same way;
//  4. switch sampling on (g_mode kSampled): only now can a sampled block
//     exist, when no module is left whose free would hand one to the real
//     allocator;
//  5. list the descriptors and mappings that were already there as "before
//     attach" (no stack), so that their closes balance.
// A block allocated before the attach has no header: free, realloc and
// malloc_usable_size recognise it as a plain block (heap_paths.h) and pass it
// to the real allocator untouched. A thread inside the real malloc during the
// rewrite finishes there with a plain block; one that loaded a slot before
// it was rewritten calls the real function once more, on a plain block too,
// since nothing is sampled before step 4.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "format/attach.h"
#include "format/raw_mmap.h"
#include "preload/internal/compiler.h"
#include "preload/internal/mode.h"
#include "preload/internal/private_fds.h"
#include "preload/internal/raw_syscall.h"
#include "preload/interpose/deepbind.h"
#include "preload/interpose/lifecycle.h"
#include "preload/interpose/native_api.h"
#include "preload/interpose/next_symbol.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/stack_ids.h"
#include "preload/record/thread_state.h"
#include "preload/record/unwinder.h"
#include "preload/resources/fd_kind.h"
#include "preload/resources/fd_table.h"
#include "preload/resources/label_table.h"
#include "preload/resources/mapping_table.h"
#include "preload/resources/open_fds.h"
#include "preload/internal/libc_functions.h"
#include "preload/interpose/quiet_dlsym.h"

namespace leaktrace::preload {
namespace {

// ---- the hooks the imports are pointed at -------------------------------------

constexpr size_t kMaxHooks = 160;
struct Hook {
  const char* name;
  void* hook;    // libleaktrace.so's definition
  void* global;  // what the program's modules are bound to
};
Hook g_hooks[kMaxHooks];
size_t g_hook_count = 0;

int AddHook(void* self, const char* name) {
  if (g_hook_count == kMaxHooks) return 0;
  void* hook = QuietDlsym(self, name);
  void* global = DefaultDefinition(name);  // not an executable's own PLT stub (next_symbol.h)
  if (hook == nullptr || global == nullptr || hook == global) return 0;
  g_hooks[g_hook_count++] = Hook{name, hook, global};
  return 1;
}

// Every exported function of this library that IsHooked names, plus dlopen
// and dlsym: their entries have modules loaded later rewritten too.
bool CollectHooks() {
  Dl_info info;
  if (LibcDladdr(reinterpret_cast<void*>(&CollectHooks), &info) == 0 || info.dli_fname == nullptr) return false;
  void* self = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (self == nullptr) return false;
  // The dynamic symbol table of this library: the exported names.
  link_map* lm = nullptr;
  if (dlinfo(self, RTLD_DI_LINKMAP, &lm) != 0 || lm == nullptr) return false;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  size_t strsz = 0;
  for (const ElfW(Dyn)* d = lm->l_ld; d->d_tag != DT_NULL; ++d) {
    const uintptr_t ptr = d->d_un.d_ptr < lm->l_addr ? lm->l_addr + d->d_un.d_ptr : d->d_un.d_ptr;
    if (d->d_tag == DT_SYMTAB) symtab = reinterpret_cast<const ElfW(Sym)*>(ptr);
    if (d->d_tag == DT_STRTAB) strtab = reinterpret_cast<const char*>(ptr);
    if (d->d_tag == DT_STRSZ) strsz = d->d_un.d_val;
  }
  if (symtab == nullptr || strtab == nullptr) return false;
  // The symbol table directly precedes the string table in every image
  // ld produces; stop at it.
  for (const ElfW(Sym)* s = symtab; reinterpret_cast<const char*>(s) < strtab; ++s) {
    if (s->st_name == 0 || s->st_name >= strsz || s->st_shndx == SHN_UNDEF) continue;
    if (ELF64_ST_TYPE(s->st_info) != STT_FUNC && ELF64_ST_TYPE(s->st_info) != STT_GNU_IFUNC) continue;
    const char* name = strtab + s->st_name;
    if (IsHooked(name) || strcmp(name, "dlopen") == 0 || strcmp(name, "dlsym") == 0) AddHook(self, name);
  }
  return g_hook_count != 0;
}

// A slot bound to the global definition (or a lazy one about to be) gets
// the hook, as preloading would have bound it; a slot bound elsewhere (a
// deep-bound library's own allocator) keeps what its module chose.
void* HookResolver(const ImportSlot& slot, void*) {
  for (size_t i = 0; i < g_hook_count; ++i) {
    const Hook& h = g_hooks[i];
    if (strcmp(h.name, slot.name) != 0) continue;
    if (slot.current == h.global || (slot.lazy_unbound && !slot.data)) return h.hook;
    return nullptr;
  }
  return nullptr;
}

// The hook to hand out for `name` when a lookup found `found` (nullptr:
// any non-null value when `name` is hooked at all).
void* HookFor(const char* name, void* found) {
  for (size_t i = 0; i < g_hook_count; ++i) {
    const Hook& h = g_hooks[i];
    if (strcmp(h.name, name) != 0) continue;
    if (found == nullptr) return h.hook;
    return found == h.global ? h.hook : nullptr;
  }
  return nullptr;
}

// ---- what was there before ------------------------------------------------------

uint32_t BeforeAttachLabel(uint32_t kind_label) { return PrefixedLabel("before attach", kind_label); }

// Raw system calls: nothing here may be recorded as the program's.
int OpenProc(const char* path, int flags) {
  return static_cast<int>(RawSyscall(SYS_openat, AT_FDCWD, path, flags | O_RDONLY | O_CLOEXEC));
}

void ListDescriptors(uint32_t stack_id) {
  // Program threads start tracking at PublishMode: their first captures
  // make leaktrace's and libunwind's descriptors (the spare, libunwind's
  // pipe), each at the lowest free number until it is moved high. A listing
  // taken meanwhile booked one of them as the program's, "before attach",
  // and the program's next open of that number as a close of it (-11
  // descriptors from before the attach closed where the program closed 10).
  // ListProgramFds waits for a listing no such making overlapped.
  constexpr long kCapacity = 1 << 20;  // the kernel's default nr_open
  constexpr size_t kBytes = kCapacity * sizeof(int);
  void* mapped = format::RawMapOwn(kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE);
  if (mapped == MAP_FAILED) return;
  int* numbers = static_cast<int*>(mapped);
  const long count = ListProgramFds(numbers, kCapacity, 1000);
  for (long i = 0; i < count && i < kCapacity; ++i) {
    if (FdRecorded(numbers[i])) continue;  // made since step 4
    FdRecord(numbers[i], stack_id, BeforeAttachLabel(ProbeFdLabel(numbers[i])));
  }
  format::RawUnmap(mapped, kBytes);
}

// Loaded modules' images, to leave them out of the mappings (the loader's
// own, which a preloaded library never records either).
struct Images {
  static constexpr size_t kMax = 1024;
  uintptr_t begin[kMax], end[kMax];
  size_t count = 0;
  // The first address from `a` on that is in no image (the kernel merges an
  // anonymous mapping with a module's .bss next to it into one line).
  uintptr_t SkipImages(uintptr_t a) const {
    for (bool moved = true; moved;) {
      moved = false;
      for (size_t i = 0; i < count; ++i)
        if (a >= begin[i] && a < end[i]) a = end[i], moved = true;
    }
    return a;
  }
};

int AddImage(dl_phdr_info* info, size_t, void* data) {
  auto* images = static_cast<Images*>(data);
  if (images->count == Images::kMax) return 1;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t b = info->dlpi_addr + ph.p_vaddr;
    if (b < lo) lo = b;
    if (b + ph.p_memsz > hi) hi = b + ph.p_memsz;
  }
  if (lo < hi) {
    images->begin[images->count] = lo & ~uintptr_t{4095};
    images->end[images->count++] = (hi + 4095) & ~uintptr_t{4095};
  }
  return 0;
}

// The process's mappings as /proc/self/maps showed them before leaktrace
// mapped anything of its own (read by CaptureMapsText, first thing).
char* g_maps_text = nullptr;
size_t g_maps_size = 0, g_maps_capacity = 0;

void CaptureMapsText() {
  g_maps_capacity = 4 << 20;
  void* buffer = format::RawMapOwn(g_maps_capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE);
  if (buffer == MAP_FAILED) return;
  g_maps_text = static_cast<char*>(buffer);
  const int fd = OpenProc("/proc/self/maps", 0);
  if (fd < 0) return;
  while (g_maps_size < g_maps_capacity - 1) {
    const long n = RawSyscall(SYS_read, fd, g_maps_text + g_maps_size, g_maps_capacity - 1 - g_maps_size);
    if (n <= 0) break;
    g_maps_size += static_cast<size_t>(n);
  }
  g_maps_text[g_maps_size] = '\0';
  RawSyscall(SYS_close, fd);
}

// Anonymous and file mappings that are not a module's image, a kernel
// region ([stack], [vdso] ...) or inaccessible (guard pages, reservations).
void ListMappings(uint32_t stack_id) {
  if (g_maps_text == nullptr) return;
  static Images images;
  images.count = 0;
  LibcDlIteratePhdr(AddImage, &images);
  const uintptr_t own = reinterpret_cast<uintptr_t>(g_maps_text);
  MappingTableLock lock;
  MappingView seen;
  for (char* line = g_maps_text; *line != '\0';) {
    char* next = strchr(line, '\n');
    if (next != nullptr) *next = '\0';
    unsigned long start = 0, end = 0;
    char perms[8] = {};
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) >= 3 && end > start) {
      const char* path = line + path_at;
      const bool accessible = perms[0] == 'r' || perms[1] == 'w' || perms[2] == 'x';
      const bool kernel = path[0] == '[' && strncmp(path, "[anon:", 6) != 0;
      if (start != own) start = images.SkipImages(start);
      if (accessible && !kernel && start != own && start < end && !MappingFind(start, &seen)) {
        char kind[600];
        if (path[0] == '\0' || path[0] == '[') snprintf(kind, sizeof kind, "before attach: %s", perms[3] == 's' ? "anon shared" : "anon");
        else snprintf(kind, sizeof kind, "before attach: file:%s", path);
        uint32_t label = InternLabel(kind);
        if (label == 0) label = KindLabel("before attach");
        MappingInsert(start, end, stack_id, label);
      }
    }
    if (next == nullptr) break;
    line = next + 1;
  }
  format::RawUnmap(g_maps_text, g_maps_capacity);
  g_maps_text = nullptr;
}

int Attach(const char* settings) {
  if (g_attached || CurrentMode() != Mode::kUninitialized) return format::kAttachAlreadyTracking;
  CaptureMapsText();
  g_attached = true;
  g_attach_settings = settings;
  g_real_scope = RTLD_DEFAULT;  // before the first lookup (real_functions.h)
  EnsureInitialized();
  g_attach_settings = nullptr;  // the caller's text is gone after the call
  if (!RealAllocatorFound()) return format::kAttachNoAllocator;
  if (getauxval(AT_SECURE) != 0) return format::kAttachSecure;
  if (!g_config.valid) return format::kAttachBadSettings;
  if (g_attach_mode == Mode::kExact) return format::kAttachExactRefused;
  if (CurrentMode() != Mode::kInert || g_attach_mode != Mode::kSampled) return format::kAttachBadSettings;
  {
    BusyScope busy;
    if (!CollectHooks()) return format::kAttachNoAllocator;
  }
  StartTracking();
  {
    BusyScope busy;
    StartAttachedRewrite(HookResolver, HookFor);
  }
  PublishMode(g_attach_mode);
  const uint32_t stack_id = NoFrameStackId();
  BusyScope busy;
  if (stack_id != 0) {
    ListDescriptors(stack_id);
    ListMappings(stack_id);
  }
  return format::kAttachTracking;
}

}  // namespace
}  // namespace leaktrace::preload

// Called once by `leaktrace attach`, inside the process, on the thread it
// borrowed; see format/attach.h. Not for any other caller.
LT_EXPORT int leaktrace_attach(const char* settings) { return leaktrace::preload::Attach(settings); }
