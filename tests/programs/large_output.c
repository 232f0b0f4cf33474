/* Checks a large amount of output: 4 MiB to stdout in writes of varied
 * sizes (up to 1 MiB at once) and 256 KiB to stderr, all per-run data.
 * Replay must re-emit every byte, including any partial writes. */
#include "common.h"

static void write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    CHECK(w > 0);
    p += w;
    n -= (size_t)w;
  }
}

int main(void) {
  static unsigned char data[4 << 20];
  unsigned seed = (unsigned)getpid();
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)('a' + rand_r(&seed) % 26);
  for (size_t i = 99; i < sizeof data; i += 100) data[i] = '\n';
  size_t sizes[] = {1, 100, 4095, 4097, 65536, 1 << 20}, off = 0;
  for (int i = 0; off < sizeof data; i++) {
    size_t len = sizes[i % 6] < sizeof data - off ? sizes[i % 6] : sizeof data - off;
    write_all(1, data + off, len);
    off += len;
  }
  write_all(2, data, 256 << 10);
  fprintf(stderr, "\nhash %016llx\n", fnv1a(data, sizeof data));
  return 0;
}
