// Which signals may serve as the snapshot signal (LEAKTRACE_SIGNAL): one
// rule for the library, which refuses the setting and stays inert, and for
// `leaktrace run` / `attach`, which refuse it before starting anything.
// Header only, no allocation: the preload library includes it.
#pragma once

#include <signal.h>

namespace leaktrace::format {

// 0 (snapshots by signal off) or a signal a process can catch that nothing
// sends in the normal course of things. Refused: SIGKILL and SIGSTOP (cannot
// be caught); the signals of faults and aborts (SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGTRAP, SIGSYS, SIGABRT: a snapshot would hide a crash); and the
// signals the kernel or a terminal send on their own (SIGCHLD at every child's
// exit, SIGCONT, SIGURG, SIGWINCH, the job-control stops): each would write
// a dump nobody asked for.
inline bool UsableSnapshotSignal(int sig) {
  switch (sig) {
    case SIGKILL: case SIGSTOP:
    case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS: case SIGABRT:
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: case SIGTSTP: case SIGTTIN: case SIGTTOU:
      return false;
    default:
      return sig >= 0 && sig < NSIG;
  }
}

// `leaktrace snapshot` sends the snapshot signal with rt_tgsigqueueinfo (or
// rt_sigqueueinfo), si_code SI_QUEUE and this value: the library then knows
// that a reader waits for the dump, and writes it from the memfd the
// process hands it over in when the process cannot write it itself (the
// process owns no line on its stderr about that dump). Anything else
// (kill, raise, the program's own sigqueue) is a signal from someone else.
inline constexpr int kReaderAsksValue = 0x4c54736e;  // "LTsn"

inline bool AskedByReader(const siginfo_t* info) {
  return info != nullptr && info->si_code == SI_QUEUE && info->si_value.sival_int == kReaderAsksValue;
}

}  // namespace leaktrace::format
