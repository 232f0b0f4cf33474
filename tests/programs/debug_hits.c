/* For the debugger tests: a function hit 1000 times in a loop. A reverse
 * continue from after the loop must stop at the last hit (i=999), the next
 * one at the hit before it. */
#include "common.h"

volatile long sink;

__attribute__((noinline)) void step(long i) { sink += i; }

int main(void) {
  for (long i = 0; i < 1000; i++) step(i);
  printf("sink=%ld\n", sink);
  return 0;
}
