/* Checks reads of /proc/self files whose contents depend on the memory
 * layout and the process: maps, stat, status and cmdline. Replay returns the
 * recorded bytes; the program also prints addresses it computes itself
 * (stack, heap, code, a library), so a replay whose layout differs from the
 * recording's shows up even though the file reads are emulated. */
#include "common.h"
#include <fcntl.h>

static void read_file(const char *path) {
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  static char buf[1 << 16];
  size_t total = 0;
  ssize_t n;
  while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0) total += (size_t)n;
  close(fd);
  buf[total] = 0;
  char *nl = strchr(buf, '\n');
  printf("%s: %zu bytes, hash %016llx, first line '%.*s'\n", path, total, fnv1a(buf, total),
         nl ? (int)(nl - buf) : 60, buf);
}

int main(void) {
  int local;
  void *heap = malloc(100);
  printf("stack %p heap %p main %p printf %p\n", (void *)&local, heap, (void *)main, (void *)printf);
  read_file("/proc/self/maps");
  read_file("/proc/self/stat");
  read_file("/proc/self/status");
  read_file("/proc/self/cmdline");
  char link[256] = {0};
  CHECK(readlink("/proc/self/exe", link, sizeof link - 1) > 0);
  printf("exe basename %s\n", strrchr(link, '/') + 1);
  free(heap);
  return 0;
}
