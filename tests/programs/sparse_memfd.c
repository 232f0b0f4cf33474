/* A 20 GiB memfd with one page written at 10 GiB, mapped a page at a time:
 * the written page and a hole. rewind captures the memfd into the trace
 * when it is mapped; its holes must stay holes, or the trace holds 20 GiB
 * of zeros (tests/CMakeLists.txt checks the trace's disk use). */
#include "common.h"

#include <sys/mman.h>

int main(void) {
  const off_t size = 20LL << 30, at = 10LL << 30;
  const int fd = memfd_create("sparse", 0);
  CHECK(fd >= 0);
  CHECK(ftruncate(fd, size) == 0);
  char page[4096];
  for (size_t i = 0; i < sizeof page; ++i) page[i] = (char)(i * 31 + 7);
  CHECK(pwrite(fd, page, sizeof page, at) == (ssize_t)sizeof page);

  const unsigned char* data = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, at);
  const unsigned char* hole = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
  CHECK(data != MAP_FAILED && hole != MAP_FAILED);
  int zeros = 1;
  for (int i = 0; i < 4096; ++i) zeros &= hole[i] == 0;
  printf("page at 10 GiB: hash %016llx; page in a hole all zeros: %d\n",
         (unsigned long long)fnv1a(data, 4096), zeros);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("size %lld GiB\n", (long long)(st.st_size >> 30));
  return 0;
}
