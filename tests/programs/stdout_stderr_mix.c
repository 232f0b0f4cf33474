/* Checks output on fds 1 and 2 through every path: stdio (buffered and
 * unbuffered), raw write(2), writev to stderr, dprintf, and a write to a
 * dup of stdout. Replay must re-emit each stream byte for byte. */
#include "common.h"
#include <sys/uio.h>

int main(void) {
  for (int i = 0; i < 5; i++) {
    printf("stdout line %d\n", i);
    fprintf(stderr, "stderr line %d\n", i);
  }
  CHECK(write(1, "raw stdout\n", 11) == 11);
  CHECK(write(2, "raw stderr\n", 11) == 11);
  struct iovec iov[] = {{"vec", 3}, {"tor ", 4}, {"stderr\n", 7}};
  CHECK(writev(2, iov, 3) == 14);
  dprintf(1, "dprintf pid %d\n", getpid());
  int d = dup(1);
  CHECK(write(d, "via dup of stdout\n", 18) == 18);
  close(d);
  /* No trailing newline, then a zero-length write. */
  printf("no newline at end");
  fflush(stdout);
  CHECK(write(1, "", 0) == 0);
  CHECK(write(2, "", 0) == 0);
  /* Bytes that are not text. */
  unsigned char bin[256];
  for (int i = 0; i < 256; i++) bin[i] = (unsigned char)i;
  CHECK(write(2, bin, sizeof bin) == sizeof bin);
  return 0;
}
