/* A program for the debugger tests: a loop calling tick(), which updates a
 * global, with a syscall per iteration. It prints the addresses the tests
 * need (ASLR is off under rewind, so they are the same in replay). */
#include "common.h"

volatile long counter = 1337;

__attribute__((noinline)) void tick(long i) {
  counter = counter * 3 + i;
  if (i == 3) counter = 42;
}

/* For `print square(3)`: the debugger runs it in a throw-away copy. */
__attribute__((noinline)) long square(long x) { return x * x; }

int main(void) {
  printf("tick=%p counter=%p\n", (void *)tick, (void *)&counter);
  long local_total = 0;
  for (long i = 0; i < 6; i++) {
    tick(i);
    local_total += square(i);
    printf("i=%ld counter=%ld\n", i, counter);
  }
  printf("total %ld\n", local_total);
  return 0;
}
