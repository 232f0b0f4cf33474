/* Checks a pipe between processes: the parent writes 1 MiB of per-run data
 * in uneven chunks, the child reads until EOF and reports the byte count
 * and hash, and the parent checks the child's report. Reads of a pipe
 * return short counts at nondeterministic points; replay must match them. */
#include "common.h"
#include <sys/wait.h>

int main(void) {
  int p[2], back[2];
  CHECK(pipe(p) == 0 && pipe(back) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    close(p[1]);
    close(back[0]);
    unsigned char buf[7000];
    unsigned long long h = 0xcbf29ce484222325ull, total = 0;
    int reads = 0;
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) h = (h ^ buf[i]) * 0x100000001b3ull;
      total += (unsigned long long)n;
      reads++;
    }
    printf("child read %llu bytes in %d reads (count varies), hash %016llx\n", total, reads, h);
    CHECK(write(back[1], &h, sizeof h) == sizeof h);
    _exit(0);
  }
  close(p[0]);
  close(back[1]);
  static unsigned char data[1 << 20];
  unsigned seed = (unsigned)getpid();
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)rand_r(&seed);
  size_t off = 0, chunk = 1;
  while (off < sizeof data) {
    size_t len = chunk < sizeof data - off ? chunk : sizeof data - off;
    ssize_t w = write(p[1], data + off, len);
    CHECK(w > 0);
    off += (size_t)w;
    chunk = chunk * 3 + 1; /* 1, 4, 13, ... up to large writes */
    if (chunk > 200000) chunk = 17;
  }
  close(p[1]);
  unsigned long long reported = 0;
  CHECK(read(back[0], &reported, sizeof reported) == sizeof reported);
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("parent wrote %zu bytes, child's hash matches %d, child exit %d\n", off,
         reported == fnv1a(data, sizeof data), WEXITSTATUS(status));
  return 0;
}
