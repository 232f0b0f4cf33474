/* Checks dup, dup2, dup3, and fcntl F_GETFL/F_SETFL/F_GETFD/F_SETFD/
 * F_DUPFD/F_DUPFD_CLOEXEC: replay must return the same descriptor numbers
 * and flags, and writes through a duplicate must land in the same file. */
#include "common.h"
#include <fcntl.h>

int main(void) {
  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/f", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0600);
  CHECK(fd >= 0);
  printf("open -> %d\n", fd);

  int d1 = dup(fd);
  show("dup", d1);
  show("dup2 -> 20", dup2(fd, 20));
  show("dup2 same fd", dup2(fd, fd));
  show("dup3 -> 21 CLOEXEC", dup3(fd, 21, O_CLOEXEC));
  show("dup3 same fd (EINVAL)", dup3(fd, fd, 0));
  show("dup bad fd", dup(999));

  int fl = fcntl(fd, F_GETFL);
  printf("F_GETFL -> %#x (append %d, rdwr %d)\n", fl, !!(fl & O_APPEND), (fl & O_ACCMODE) == O_RDWR);
  show("F_SETFL +NONBLOCK", fcntl(fd, F_SETFL, fl | O_NONBLOCK));
  printf("F_GETFL via dup -> %#x\n", fcntl(d1, F_GETFL));
  show("F_GETFD 21", fcntl(21, F_GETFD));
  show("F_SETFD 20 CLOEXEC", fcntl(20, F_SETFD, FD_CLOEXEC));
  show("F_GETFD 20", fcntl(20, F_GETFD));
  show("F_DUPFD >= 30", fcntl(fd, F_DUPFD, 30));
  show("F_DUPFD_CLOEXEC >= 30", fcntl(fd, F_DUPFD_CLOEXEC, 30));

  /* Every duplicate shares one file offset and O_APPEND. */
  show("write fd", write(fd, "one ", 4));
  show("write dup", write(d1, "two ", 4));
  show("write 20", write(20, "three\n", 6));
  char buf[64] = {0};
  ssize_t n = pread(21, buf, sizeof buf - 1, 0);
  printf("pread via 21 -> %zd '%s'\n", n, buf);
  show("lseek cur via 30", lseek(30, 0, SEEK_CUR));

  unlink(path);
  rmdir(dir);
  return 0;
}
