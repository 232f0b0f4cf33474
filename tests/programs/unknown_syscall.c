/* Checks an unknown syscall number: syscall(1000) must fail with ENOSYS
 * both when recording (the kernel's answer) and when replaying, and the
 * program must carry on normally afterwards. */
#include "common.h"
#include <sys/syscall.h>

int main(void) {
  errno = 0;
  long r = syscall(1000, 1, 2, 3);
  printf("syscall(1000) -> %ld errno %d (%s)\n", r, errno, strerrorname_np(errno));
  errno = 0;
  r = syscall(-1L);
  printf("syscall(-1) -> %ld errno %d (%s)\n", r, errno, strerrorname_np(errno));
  printf("still alive, pid %d\n", getpid());
  return 0;
}
