/* Checks in-kernel copies: sendfile from a file to a pipe, splice back
 * out, and copy_file_range between files. The data never passes through
 * user memory, so replay must emulate these without a buffer to restore. */
#include "common.h"
#include <fcntl.h>
#include <sys/sendfile.h>

int main(void) {
  const char *dir = make_tmpdir();
  char src[4200], dst[4200];
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(dst, sizeof dst, "%s/dst", dir);
  int in = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
  int out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(in >= 0 && out >= 0);
  char text[128];
  int len = snprintf(text, sizeof text, "source text, pid %d, padded to make it longer", getpid());
  CHECK(write(in, text, len) == len);

  int p[2];
  CHECK(pipe(p) == 0);
  off_t off = 7;
  show("sendfile file->pipe from 7", sendfile(p[1], in, &off, 20));
  printf("  offset now %ld\n", (long)off);
  show("splice pipe->file", splice(p[0], NULL, out, NULL, 20, 0));
  loff_t ioff = 0, ooff = 20;
  show("copy_file_range", copy_file_range(in, &ioff, out, &ooff, (size_t)len, 0));
  printf("  offsets %lld %lld\n", (long long)ioff, (long long)ooff);

  char buf[256] = {0};
  ssize_t n = pread(out, buf, sizeof buf - 1, 0);
  printf("dst -> %zd '%s'\n", n, buf);
  show("sendfile bad fd", sendfile(p[1], 999, NULL, 1));
  unlink(src);
  unlink(dst);
  rmdir(dir);
  return 0;
}
