/* Helpers shared by the traced test programs.
 *
 * Each program prints what it observes (results, errnos, buffer contents,
 * hashes). The e2e driver compares a recording's output with its replay's, so
 * a syscall result or a buffer that replay restores wrongly shows up as a
 * differing line. Nondeterministic values (times, pids, random bytes) are
 * welcome: they only match if replay really returns the recorded values. */
#ifndef REWIND_TEST_COMMON_H
#define REWIND_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Line-buffer stdout: several programs fork, and a fully buffered stdout
 * (stdout is a file under the driver) would print pending lines twice. */
__attribute__((constructor)) static void rw_line_buffer_stdout(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
}

/* A failed CHECK exits 99, a code no test expects, and says why on stderr. */
#define CHECK(expr)                                                        \
  do {                                                                     \
    if (!(expr)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: %s\n", __FILE__, __LINE__, \
              #expr, strerror(errno));                                     \
      exit(99);                                                            \
    }                                                                      \
  } while (0)

/* FNV-1a: a short, stable fingerprint of a buffer. */
static inline unsigned long long fnv1a(const void *p, size_t n) {
  const unsigned char *b = p;
  unsigned long long h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

/* A fresh directory under $TMPDIR (the driver points TMPDIR at the test's own
 * temp dir, which it deletes afterwards). */
static inline const char *make_tmpdir(void) {
  static char path[4096];
  const char *t = getenv("TMPDIR");
  snprintf(path, sizeof path, "%s/rw-XXXXXX", t && *t ? t : "/tmp");
  CHECK(mkdtemp(path) != NULL);
  return path;
}

/* "name -> result" or "name -> -1 (ENOENT)": a result with its errno. */
static inline void show(const char *what, long r) {
  if (r < 0)
    printf("%s -> %ld (%s)\n", what, r, strerrorname_np(errno));
  else
    printf("%s -> %ld\n", what, r);
}

#endif
