/* A program for the reverse-execution tests: a syscall-free hot loop that
 * calls step() a million times and writes the global g on every iteration,
 * so the whole loop is one stretch between two events. */
#include "common.h"

volatile long g = 7;
long total;

__attribute__((noinline)) void step(long i) {
  total += i;
}

int main(void) {
  printf("start\n");
  for (long i = 0; i < 1000000; i++) {
    step(i);
    g = i * 3;
  }
  printf("total %ld g %ld\n", total, g); /* after the loop */
  return 0;
}
