/* Checks reading stdin: the test feeds a small file when recording and
 * /dev/null when replaying, so replay must return the recorded bytes rather
 * than read its own stdin. Reads in odd-sized pieces and echoes them. */
#include "common.h"

int main(void) {
  char buf[13];
  ssize_t n;
  unsigned long long total = 0;
  int reads = 0;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    printf("read %2zd: '", n);
    for (ssize_t i = 0; i < n; i++) putchar(buf[i] == '\n' ? '|' : buf[i]);
    printf("'\n");
    total += (unsigned long long)n;
    reads++;
  }
  printf("EOF after %llu bytes in %d reads (last %zd)\n", total, reads, n);
  struct stat st;
  CHECK(fstat(0, &st) == 0);
  printf("stdin is a regular file %d, size %lld\n", S_ISREG(st.st_mode), (long long)st.st_size);
  return 0;
}
