/* Benchmark workload: a compute loop with no syscalls (xorshift64 and a
 * running sum), N iterations from argv[1]. It measures the cost of simply
 * running under rewind, which should be close to zero between events. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000000L;
  unsigned long long x = 88172645463325252ull, sum = 0;
  for (long i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += x >> 40;
  }
  printf("%llx\n", sum);
  return 0;
}
