/* The debugger benchmark's program: a loop of 1e6 iterations calling
 * body(), with a getppid() syscall every 10th iteration (1e5 syscalls). */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void body(long i) {
  sink += i;
}

int main(void) {
  for (long i = 0; i < 1000000; i++) {
    body(i);
    if (i % 10 == 0) syscall(SYS_getppid);
  }
  printf("sink %ld\n", sink);
  return 0;
}
