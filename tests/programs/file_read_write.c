/* Checks write, read, pread64, pwrite64, lseek, ftruncate, fsync and
 * fdatasync on a regular file: replay must return the same counts and
 * offsets, and fill read buffers with the recorded bytes. */
#include "common.h"
#include <fcntl.h>

int main(void) {
  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/data", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);

  show("write", write(fd, "hello, rewind\n", 14));
  show("pwrite@100", pwrite(fd, "XYZ", 3, 100));
  show("lseek end", lseek(fd, 0, SEEK_END));
  show("lseek set 7", lseek(fd, 7, SEEK_SET));

  char buf[128] = {0};
  ssize_t n = read(fd, buf, sizeof buf);
  printf("read -> %zd: '%.6s' hole byte %d hash %016llx\n", n, buf, buf[20],
         fnv1a(buf, n));
  memset(buf, 0, sizeof buf);
  n = pread(fd, buf, 5, 98);
  printf("pread@98 -> %zd: %d %d %.3s\n", n, buf[0], buf[1], buf + 2);
  show("lseek cur (pread leaves it)", lseek(fd, 0, SEEK_CUR));

  /* Bytes that differ per run: replay must hand back the recorded ones. */
  unsigned char big[65536];
  unsigned seed = (unsigned)getpid() ^ (unsigned)(uintptr_t)&big;
  for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)rand_r(&seed);
  show("pwrite 64k", pwrite(fd, big, sizeof big, 4096));
  memset(big, 0, sizeof big);
  n = pread(fd, big, sizeof big, 4096);
  printf("pread 64k -> %zd hash %016llx\n", n, fnv1a(big, sizeof big));

  show("ftruncate 5", ftruncate(fd, 5));
  show("fsync", fsync(fd));
  show("fdatasync", fdatasync(fd));
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("size after ftruncate -> %lld\n", (long long)st.st_size);
  lseek(fd, 0, SEEK_SET);
  n = read(fd, buf, sizeof buf);
  printf("reread -> %zd '%.*s'\n", n, (int)n, buf);
  show("read at eof", read(fd, buf, sizeof buf));
  show("read bad fd", read(12345, buf, 1));

  close(fd);
  unlink(path);
  rmdir(dir);
  return 0;
}
