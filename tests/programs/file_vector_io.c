/* Checks readv, writev, preadv and pwritev: replay must scatter the
 * recorded bytes into every iovec, including a zero-length one. */
#include "common.h"
#include <fcntl.h>
#include <sys/uio.h>

int main(void) {
  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/vec", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);

  char a[] = "alpha-", b[] = "beta-", c[] = "gamma\n";
  struct iovec out[] = {{a, 6}, {NULL, 0}, {b, 5}, {c, 6}};
  show("writev", writev(fd, out, 4));
  char pid[32];
  int plen = snprintf(pid, sizeof pid, "pid=%d\n", getpid());
  struct iovec out2[] = {{pid, (size_t)plen}};
  show("pwritev@17", pwritev(fd, out2, 1, 17));

  char x[4] = {0}, y[7] = {0}, z[64] = {0};
  struct iovec in[] = {{x, 3}, {NULL, 0}, {y, 6}, {z, sizeof z - 1}};
  lseek(fd, 0, SEEK_SET);
  ssize_t n = readv(fd, in, 4);
  printf("readv -> %zd: [%s] [%s] [%s]\n", n, x, y, z);

  memset(x, 0, sizeof x);
  memset(y, 0, sizeof y);
  struct iovec in2[] = {{x, 2}, {y, 4}};
  n = preadv(fd, in2, 2, 6);
  printf("preadv@6 -> %zd: [%s] [%s]\n", n, x, y);
  show("lseek cur (preadv leaves it)", lseek(fd, 0, SEEK_CUR));

  /* A short read: the file ends inside the second iovec. */
  char big1[8], big2[4096];
  memset(big2, '?', sizeof big2);
  struct iovec in3[] = {{big1, sizeof big1}, {big2, sizeof big2}};
  n = preadv(fd, in3, 2, 0);
  printf("short preadv -> %zd, tail byte after data '%c' hash %016llx\n", n,
         big2[n - 8], fnv1a(big2, sizeof big2));

  close(fd);
  unlink(path);
  rmdir(dir);
  return 0;
}
