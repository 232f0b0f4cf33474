/* For the debugger tests: a watchpoint set while stopped at a breakpoint on
 * a line that writes the watched global. The debugger steps over that
 * breakpoint before it continues; the write made during that step must be
 * reported, not the next one. */
#include "common.h"

volatile long g = 1;

int main(void) {
  printf("g=%ld\n", g);
  g = 42;
  printf("g=%ld\n", g);
  g = 1337;
  printf("g=%ld\n", g);
  return 0;
}
