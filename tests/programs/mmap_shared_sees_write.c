/* Checks that a MAP_SHARED file mapping sees data written to the file with
 * pwrite(2) after the mapping was made, by this process and by a child.
 * Replay emulates the writes instead of performing them, so it must still
 * make the mapping show the written bytes. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/shared", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  CHECK(ftruncate(fd, 2 * pg) == 0);
  char *map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(map != MAP_FAILED);
  printf("fresh mapping: first byte %d\n", map[0]);

  char text[64];
  int len = snprintf(text, sizeof text, "written by pid %d", getpid());
  CHECK(pwrite(fd, text, len, 10) == len);
  printf("after pwrite: '%.*s'\n", len, map + 10);

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    char t2[64];
    int l2 = snprintf(t2, sizeof t2, "child %d was here", getpid());
    CHECK(pwrite(fd, t2, l2, pg + 5) == l2);
    _exit(0);
  }
  CHECK(waitpid(child, NULL, 0) == child);
  printf("after child's pwrite: '%.30s'\n", map + pg + 5);
  printf("mapping hash %016llx\n", fnv1a(map, 2 * pg));
  close(fd);
  unlink(path);
  rmdir(dir);
  return 0;
}
