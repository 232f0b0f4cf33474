/* The debugger benchmark's syscall-free loop: N (argv[1], default 1e6)
 * calls of body(), which also writes `watched` for the reverse-watchpoint
 * case. Between the start-up syscalls and the final printf nothing stops
 * the task, so the whole loop is one stretch without events. The line
 * after the loop is where reverse-stepi and reverse-next are hardest: the
 * instruction before it ran a million iterations after the last event. */
#include <stdio.h>
#include <stdlib.h>

volatile long sink;
volatile long watched;

__attribute__((noinline)) void body(long i) {
  sink += i;
  watched = 2 * i + 1;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  for (long i = 0; i < n; i++) body(i);
  printf("sink %ld watched %ld\n", sink, watched); /* bench: after loop */
  return 0;
}
