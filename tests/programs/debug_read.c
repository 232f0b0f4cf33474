/* For the debugger tests: a global buffer that only the kernel writes, by
 * read() from a file the program creates. A watchpoint on it must stop at
 * that read, forward and in reverse. */
#include "common.h"
#include <fcntl.h>

char buf[8] = "xxxxxxx";

int main(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/debug_read.txt", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
  CHECK(fd >= 0);
  CHECK(write(fd, "replayd", 8) == 8);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  CHECK(read(fd, buf, sizeof buf) == sizeof buf);
  close(fd);
  unlink(path);
  printf("buf=%s\n", buf);
  return 0;
}
