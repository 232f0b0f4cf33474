/* Benchmark workload for traced_syscall_cost.sh: N getpid calls through
 * syscall() (glibc does not cache getpid, but syscall() makes sure), N from
 * argv[1]. Every call is one syscall-entry and one syscall-exit stop under
 * a PTRACE_SYSCALL tracer. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  long bad = 0;
  const long pid = syscall(SYS_getpid);
  for (long i = 0; i < n; i++) bad += syscall(SYS_getpid) != pid;
  printf("%ld getpid calls, %ld wrong\n", n, bad);
  return bad != 0;
}
