/* Checks prctl(PR_SET_NAME/PR_GET_NAME), arch_prctl(ARCH_GET_FS) (the TLS
 * base, equal to the thread pointer), set_tid_address via syscall() (which
 * returns the tid), and PR_GET_DUMPABLE. */
#include "common.h"
#include <asm/prctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int main(void) {
  char name[17] = {0};
  show("PR_GET_NAME", prctl(PR_GET_NAME, name));
  printf("  name '%s'\n", name);
  char want[32];
  snprintf(want, sizeof want, "rw-%d", getpid() % 100000);
  show("PR_SET_NAME", prctl(PR_SET_NAME, want));
  memset(name, 0, sizeof name);
  show("PR_GET_NAME", prctl(PR_GET_NAME, name));
  printf("  name '%s' matches %d\n", name, strcmp(name, want) == 0);
  show("PR_SET_NAME long (truncated)", prctl(PR_SET_NAME, "a-very-long-process-name-indeed"));
  prctl(PR_GET_NAME, name);
  printf("  name '%s'\n", name);
  show("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
  show("prctl bad option", prctl(0x7fff1234));

  unsigned long fs = 0;
  show("arch_prctl ARCH_GET_FS", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
  unsigned long tp;
  __asm__("mov %%fs:0, %0" : "=r"(tp)); /* glibc's TCB points to itself */
  printf("  fs base == thread pointer %d, value %#lx\n", fs == tp, fs);
  show("arch_prctl bad code", syscall(SYS_arch_prctl, 0x9999, &fs));

  static int tid_word;
  long tid = syscall(SYS_set_tid_address, &tid_word);
  printf("set_tid_address -> %ld (== gettid %d)\n", tid, tid == gettid());
  return 0;
}
