/* A program for the debugger tests: a loop calling tick(), which updates a
 * global, with a syscall per iteration. It prints the addresses the tests
 * need (ASLR is off under rewind, so they are the same in replay). */
#include "common.h"

volatile long counter = 1337;

__attribute__((noinline)) void tick(long i) {
  counter = counter * 3 + i;
  if (i == 3) counter = 42;
}

int main(void) {
  printf("tick=%p counter=%p\n", (void *)tick, (void *)&counter);
  for (long i = 0; i < 6; i++) {
    tick(i);
    printf("i=%ld counter=%ld\n", i, counter);
  }
  return 0;
}
