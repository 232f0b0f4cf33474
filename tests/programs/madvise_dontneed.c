/* Checks madvise(MADV_DONTNEED): afterwards a private anonymous mapping
 * reads back as zeros and a private file mapping reads back the file's
 * bytes, discarding private writes. Replay must reproduce both. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char *anon = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(anon != MAP_FAILED);
  memset(anon, 0x77, 4 * pg);
  show("madvise DONTNEED pages 1-2", madvise(anon + pg, 2 * pg, MADV_DONTNEED));
  printf("anon bytes: page0 %#x page1 %#x page2 %#x page3 %#x\n", anon[0] & 0xff,
         anon[pg] & 0xff, anon[2 * pg + 9] & 0xff, anon[3 * pg] & 0xff);
  printf("anon hash %016llx\n", fnv1a(anon, 4 * pg));

  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/f", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  char text[64];
  int len = snprintf(text, sizeof text, "file text from pid %d", getpid());
  CHECK(ftruncate(fd, pg) == 0);
  CHECK(pwrite(fd, text, len, 0) == len);
  char *fm = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(fm != MAP_FAILED);
  memcpy(fm, "private scribble", 16);
  printf("before: '%.*s'\n", len, fm);
  show("madvise DONTNEED file page", madvise(fm, pg, MADV_DONTNEED));
  printf("after:  '%.*s'\n", len, fm);
  show("madvise bad advice", madvise(fm, pg, 12345));
  show("madvise unaligned", madvise(fm + 1, pg, MADV_DONTNEED));
  close(fd);
  unlink(path);
  rmdir(dir);
  return 0;
}
