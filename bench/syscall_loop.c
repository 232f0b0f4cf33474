/* Benchmark workload: N tiny syscalls (getppid through syscall(), so libc
 * cannot cache or skip them), N from argv[1]. It measures rewind's fixed
 * cost per syscall: every one is a ptrace stop when recording. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  long sum = 0;
  for (long i = 0; i < n; i++) sum += syscall(SYS_getppid);
  printf("%ld\n", sum);
  return 0;
}
