#include "preload/record/main_stack.h"
#include "preload/internal/raw_syscall.h"

#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern "C" void* __libc_stack_end;

namespace leaktrace::preload {

bool MainStackAroundExecFn(uintptr_t sp, uintptr_t* low, uintptr_t* high) {
  constexpr uintptr_t kPage = 4096;
  const auto* execfn = reinterpret_cast<const char*>(getauxval(AT_EXECFN));
  if (execfn == nullptr) return false;
  // exec(2) copies the file name first, ending one null word below the top
  // of the new stack: name, its NUL, 8 zero bytes, then the end of the
  // mapping. The zero bytes stop strnlen within the mapping.
  const uintptr_t top = reinterpret_cast<uintptr_t>(execfn) + strnlen(execfn, kPage) + 1 + sizeof(void*);
  if (top % kPage != 0) return false;  // not the kernel's layout
  const uintptr_t start = reinterpret_cast<uintptr_t>(__libc_stack_end);
  const uintptr_t deepest = sp < start ? sp : start;
  if (deepest >= top || top - deepest > kMainStackSpan - kMainStackSlack) return false;
  const uintptr_t bottom = (deepest & ~(kPage - 1)) - kMainStackSlack;
  unsigned char resident[kMainStackSpan / kPage];
  // 0 only when every page of the range is mapped (ENOMEM otherwise).
  if (RawSyscall(SYS_mincore, bottom, top - bottom, resident) != 0) return false;
  *low = bottom;
  *high = top;
  return true;
}

}  // namespace leaktrace::preload
