/* A daemon's privilege drop that keeps one capability (PR_SET_KEEPCAPS,
   then capset on the calling thread alone, as libcap-ng's and setpriv's
   drops do) and then sets its groups by initgroups(3) (lifecycle_test.cc).
   Capabilities are per thread: a thread of leaktrace's made before the
   capset lacks CAP_SETGID, and glibc, which runs setgroups on every thread
   it knows, aborts the process when one of them fails. From root: waits
   200 ms (leaktrace's dumper thread starts at a wait), keeps its
   capabilities across a change to user 64997, raises CAP_SETGID on this
   thread, calls initgroups("root", 0) and prints "groups N" (N: how many
   it then has). Exit 77 when not run as root, 2 when a call fails. */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALONE 64997

int main(void) {
  if (geteuid() != 0) return 77;
  usleep(200 * 1000);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setresgid(ALONE, ALONE, ALONE) != 0 ||
      setresuid(ALONE, ALONE, ALONE) != 0)
    return 2;
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {{0}};
  if (syscall(SYS_capget, &header, data) != 0) return 2;
  data[0].effective = 1u << CAP_SETGID;  /* permitted still holds it: KEEPCAPS */
  if (syscall(SYS_capset, &header, data) != 0) return 2;
  if (initgroups("root", 0) != 0) return 2;
  printf("groups %d\n", getgroups(0, NULL));
  return 0;
}
