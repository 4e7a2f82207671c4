#include "preload/snapshot/interrupted_wait.h"

#include <ucontext.h>

#include <cstdint>

#include "format/restarted_calls.h"

namespace leaktrace::preload {

bool InterruptedInARestartedWait(const void* ucontext) {
#if defined(__x86_64__)
  if (ucontext == nullptr) return false;
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  // A call the handler's SA_RESTART restarts: the kernel has put the
  // instruction pointer back on the `syscall` instruction (0f 05) and the
  // call's number back in rax. A thread stopped just before that
  // instruction shows the same, and is in the same state.
  // The thread was executing at `ip`, so that byte is mapped; 0f starts an
  // instruction of two bytes at least, so when it is 0f the next one is too.
  const auto* ip = reinterpret_cast<const volatile uint8_t*>(uc->uc_mcontext.gregs[REG_RIP]);
  if (ip[0] != 0x0f || ip[1] != 0x05) return false;
  return format::RestartedAfterHandler(uc->uc_mcontext.gregs[REG_RAX]);
#else
  (void)ucontext;
  return false;
#endif
}

}  // namespace leaktrace::preload
