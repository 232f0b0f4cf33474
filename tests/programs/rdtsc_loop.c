/* Checks rdtsc and rdtscp (via __rdtsc/__rdtscp) in a loop: the values
 * and their differences vary per run, so replay must return the recorded
 * counter values (the TSC is trapped or emulated, never read live). */
#include "common.h"
#include <x86intrin.h>

int main(void) {
  unsigned long long prev = __rdtsc(), first = prev, sum = 0;
  int monotonic = 1;
  for (int i = 0; i < 20; i++) {
    unsigned aux = 0;
    unsigned long long t = (i % 2) ? __rdtscp(&aux) : __rdtsc();
    printf("%2d %s %llu delta %llu aux %u\n", i, (i % 2) ? "rdtscp" : "rdtsc ", t, t - prev, aux);
    if (t < prev) monotonic = 0;
    prev = t;
  }
  /* Many reads with no output in between, folded into one sum. */
  for (int i = 0; i < 10000; i++) sum = sum * 31 + __rdtsc();
  unsigned aux;
  unsigned long long last = __rdtscp(&aux);
  printf("10000 reads sum %llx, total elapsed %llu, monotonic %d\n", sum, last - first, monotonic);
  return 0;
}
