/* Checks a long computation with no syscalls: ~100M iterations of integer
 * and floating-point work, then a checksum. Replay runs it natively between
 * events; the checksum and the one clock read after it must match. */
#include "common.h"
#include <time.h>

int main(void) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned long long x = 88172645463325252ull, sum = 0;
  double f = 0.0;
  for (long i = 0; i < 100000000; i++) {
    x ^= x << 13; /* xorshift64 */
    x ^= x >> 7;
    x ^= x << 17;
    sum += x >> 40;
    if ((i & 0xfff) == 0) f += (double)(x & 0xffff) / 65536.0;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("checksum %llx f %.6f\n", sum, f);
  printf("took %lld ms\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
  return 0;
}
