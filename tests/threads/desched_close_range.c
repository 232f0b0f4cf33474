/* close_range(3, ~0U, 0), as Python's subprocess and many daemons call it
 * in a child, must not leave the syscall buffer holding a stale fd number.
 *
 * Under `rewind record` each thread that reads a pipe gets a desched event
 * (docs/syscallbuf.md), an fd the program never opened. close_range closes
 * it with the program's fds, and the program's next opens may take the
 * freed number. The buffer must then forget the old number: were it to
 * treat one of the program's new files as its event, the program's close()
 * of that file would fail with EBADF, and a later blocking read would no
 * longer stop the thread for the recorder.
 *
 * So: a blocking pipe ping-pong between two threads (both get an event),
 * close_range, files in every free number below a low fd limit, each
 * written, read back and closed (every close must succeed), then the
 * ping-pong again on fresh pipes (the blocking path must still work). */
#define _GNU_SOURCE
#include "../programs/common.h"
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define ROUNDS 20
#define LIMIT 64 /* RLIMIT_NOFILE: the files fill every number below it */


#include "desched_pingpong.h"

static void *peer(void *arg) {
  (void)arg;
  pingpong_on(to_peer[0], to_main[1], 0, 1);
  pthread_barrier_wait(&step); /* main: close_range, files, new pipes */
  pthread_barrier_wait(&step);
  pingpong_on(to_peer[0], to_main[1], 0, 3);
  return NULL;
}

/* Files in every free number, from the lowest up, as a program that
 * opens its inputs after closing everything gets them: one of them lands on
 * any number the desched events had. Each must behave as the program's own.
 * Returns a hash of what they held; *count: how many opened before EMFILE. */
static unsigned long long use_files(const char *dir, int *count) {
  int fds[LIMIT];
  int n = 0;
  unsigned long long h = 0;
  for (; n < LIMIT; n++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/f%d", dir, n);
    fds[n] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fds[n] < 0 && errno == EMFILE) break;
    CHECK(fds[n] == 3 + n);
    char line[32];
    int len = snprintf(line, sizeof line, "file %d at fd %d\n", n, fds[n]);
    CHECK(write(fds[n], line, (size_t)len) == len);
    CHECK(lseek(fds[n], 0, SEEK_SET) == 0);
    char back[32] = {0};
    CHECK(read(fds[n], back, sizeof back) == len && memcmp(back, line, (size_t)len) == 0);
    h = h * 31 + fnv1a(back, (size_t)len);
  }
  for (int i = 0; i < n; i++) CHECK(close(fds[i]) == 0);
  *count = n;
  return h;
}

int main(void) {
  const char *dir = make_tmpdir();
  pthread_t t;
  unsigned long long a = start_pingpong(LIMIT, peer, &t);
  pthread_barrier_wait(&step);

  /* With CLOSE_RANGE_CLOEXEC nothing is closed (the events have
   * FD_CLOEXEC already, and stay). */
  CHECK(syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0);
  CHECK(fcntl(to_main[0], F_GETFD) == FD_CLOEXEC);
  CHECK(syscall(SYS_close_range, 3u, ~0u, 0) == 0);
  /* Nothing from 3 up is open now, as natively. */
  int open_after = 0;
  for (int fd = 3; fd < 64; ++fd) open_after += fcntl(fd, F_GETFD) >= 0;
  printf("close_range: %d fds open from 3 up\n", open_after);
  /* (The count is one less than natively under rewind: main's new
   * desched event holds the top number while the files are open.) */
  int count = 0;
  unsigned long long h = use_files(dir, &count);
  printf("files: %d opened, %016llx\n", count, h);

  CHECK(pipe(to_main) == 0 && pipe(to_peer) == 0);
  pthread_barrier_wait(&step);
  unsigned long long b = pingpong_on(to_main[0], to_peer[1], 1, 4);
  CHECK(pthread_join(t, NULL) == 0);
  printf("ping-pong before %016llx, after %016llx\n", a, b);
  return 0;
}
