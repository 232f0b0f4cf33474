/* Many cheap syscalls of the kinds the preload library buffers: getpid,
 * clock_gettime, reads of /dev/zero and of a file, writes to /dev/null and
 * to a file, stat, lseek, getdents64. e2e/syscallbuf.sh checks that they
 * were buffered (and not with record -n); the record/replay test checks
 * that the results come back in replay. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <time.h>

int main(void) {
  int zero = open("/dev/zero", O_RDONLY);
  int null = open("/dev/null", O_WRONLY);
  char path[] = "/tmp/rewind-buffered-XXXXXX";
  int file = mkstemp(path);
  CHECK(zero >= 0 && null >= 0 && file >= 0);
  uint64_t sum = 0;
  char buf[64];
  struct timespec ts;
  struct stat st;
  for (int i = 0; i < 2000; i++) {
    sum += (uint64_t)getpid();
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    sum += (uint64_t)ts.tv_nsec;
    CHECK(read(zero, buf, sizeof buf) == sizeof buf && buf[7] == 0);
    CHECK(write(null, "x", 1) == 1);
    CHECK(write(file, &i, sizeof i) == sizeof i);
    CHECK(fstat(file, &st) == 0 && st.st_size == (off_t)((i + 1) * sizeof i));
  }
  CHECK(lseek(file, 0, SEEK_SET) == 0);
  int v, bad = 0;
  for (int i = 0; i < 2000; i++) bad += read(file, &v, sizeof v) != sizeof v || v != i;
  CHECK(bad == 0);
  DIR* d = opendir("/");
  int entries = 0;
  while (readdir(d)) entries++;
  closedir(d);
  unlink(path);
  printf("entries %d, sum of pids and times %llu\n", entries, (unsigned long long)sum);
  return 0;
}
