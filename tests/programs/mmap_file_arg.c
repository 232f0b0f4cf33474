/* Checks a mapping of a file named on argv: prints its size, start and
 * hash read through the mapping. CTest runs it three ways: as is, with the
 * file MODIFIED after recording, and with the file DELETED after recording;
 * replay must print the recorded contents every time, so the recorder has
 * to have captured the file. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: mmap_file_arg FILE\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  CHECK(fd >= 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("size %lld\n", (long long)st.st_size);
  const char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  CHECK(p != MAP_FAILED);
  /* Close first: from here on only the mapping holds the file. */
  close(fd);
  printf("starts '%.*s'\n", (int)(st.st_size < 40 ? st.st_size : 40), p);
  printf("hash %016llx\n", fnv1a(p, (size_t)st.st_size));
  /* A byte near the end, far from the first page. */
  printf("last byte %d\n", p[st.st_size - 1]);
  return 0;
}
