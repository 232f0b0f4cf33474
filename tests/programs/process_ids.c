/* Checks getpid, getppid, gettid, getuid, geteuid, getgid, getegid,
 * getgroups, getresuid, getresgid, getpgrp, getsid: replay must return the
 * recorded ids (pids differ per run). */
#include "common.h"
#include <grp.h>
#include <sys/syscall.h>

int main(void) {
  printf("pid %d ppid %d tid %d (tid == pid %d)\n", getpid(), getppid(), gettid(),
         gettid() == getpid());
  printf("raw syscall getpid %ld\n", syscall(SYS_getpid));
  printf("uid %d euid %d gid %d egid %d\n", getuid(), geteuid(), getgid(), getegid());
  uid_t r, e, s;
  gid_t gr, ge, gs;
  show("getresuid", getresuid(&r, &e, &s));
  printf("  %d %d %d\n", r, e, s);
  show("getresgid", getresgid(&gr, &ge, &gs));
  printf("  %d %d %d\n", gr, ge, gs);
  int n = getgroups(0, NULL);
  printf("getgroups(0) -> %d\n", n);
  gid_t groups[256];
  int m = getgroups(256, groups);
  printf("getgroups -> %d:", m);
  for (int i = 0; i < m; i++) printf(" %d", groups[i]);
  printf("\n");
  if (n > 1) show("getgroups too small", getgroups(1, groups));
  printf("pgrp %d sid %d\n", getpgrp(), getsid(0));
  show("getsid bad pid", getsid(0x7ffffff0));
  return 0;
}
