// Runs from a temporary folder with its own library (found through
// $ORIGIN) and, once the test has rewritten its PT_INTERP, its own copy of
// the ELF interpreter: after pack, the trace must replay without any of them.
#include <stdint.h>
#include <stdio.h>
#include <time.h>

uint64_t portable_checksum(const char* s, int rounds);

int main(int argc, char** argv) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  printf("time %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
  for (int i = 0; i < argc; ++i)
    printf("%s -> %016llx\n", argv[i], (unsigned long long)portable_checksum(argv[i], 1000 + i));
  return 0;
}
