/* Checks file-backed mmap: a MAP_PRIVATE mapping sees the file's contents
 * and keeps private writes out of the file; a MAP_SHARED mapping's writes
 * are visible to read(2) and survive munmap + remap. The file is created
 * by this program, so its contents differ per run. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/mapped", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  char line[64];
  int len = snprintf(line, sizeof line, "pid %d page-one\n", getpid());
  CHECK(ftruncate(fd, 3 * pg) == 0);
  CHECK(pwrite(fd, line, len, 0) == len);
  CHECK(pwrite(fd, "second page", 11, pg) == 11);

  char *priv = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(priv != MAP_FAILED);
  printf("private map: '%.*s' '%.11s' hash %016llx\n", len - 1, priv, priv + pg,
         fnv1a(priv, 3 * pg));
  memcpy(priv, "PRIVATE", 7);
  char buf[16] = {0};
  CHECK(pread(fd, buf, 7, 0) == 7);
  printf("after private write, file starts '%s', map starts '%.7s'\n", buf, priv);

  char *shared = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, pg);
  CHECK(shared != MAP_FAILED);
  memcpy(shared, "SHARED!", 7);
  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, 11, pg) == 11);
  printf("after shared write at offset %ld, file has '%s'\n", pg, buf);
  show("msync", msync(shared, 2 * pg, MS_SYNC));
  show("munmap shared", munmap(shared, 2 * pg));

  /* The private mapping's untouched second page is still backed by the file,
   * so it shows the shared write. */
  printf("private map page 2 now '%.11s'\n", priv + pg);
  char *again = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg);
  printf("remapped: '%.11s'\n", again);
  show("mmap bad fd",
       mmap(NULL, pg, PROT_READ, MAP_SHARED, 999, 0) == MAP_FAILED ? -1 : 0);
  close(fd);
  unlink(path);
  rmdir(dir);
  return 0;
}
