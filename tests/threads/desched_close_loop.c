/* One thread's close() loop over every fd number must not leave another
 * thread's syscall buffer holding a stale fd number.
 *
 * Under `rewind record` each thread that reads a pipe gets a desched event
 * (docs/syscallbuf.md), an fd the program never opened. A close() of every
 * number, as daemons and spawners do, fails with EBADF for the calling
 * thread's own event, but each thread's buffer knows only its own, so the
 * loop closes the other thread's. That thread must then forget the number:
 * were it to treat one of its new files there as its event, its close() of
 * that file would fail with EBADF.
 *
 * So: a blocking pipe ping-pong between two threads (both get an event),
 * main closes every number from 3 below a low fd limit, the peer opens
 * files in every free number, uses and closes them (every close must
 * succeed), then the ping-pong again on fresh pipes. */
#define _GNU_SOURCE
#include "../programs/common.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>

#define ROUNDS 20
#define LIMIT 64 /* RLIMIT_NOFILE */

static const char *dir;
static int peer_files;

#include "desched_pingpong.h"

static unsigned long long pingpong(int first, unsigned long long h) {
  return first ? pingpong_on(to_main[0], to_peer[1], 1, h)
               : pingpong_on(to_peer[0], to_main[1], 0, h);
}

/* Files in every free number until EMFILE, each written, read back and
 * closed. Returns how many. */
static int use_files(void) {
  int fds[LIMIT];
  int n = 0;
  for (; n < LIMIT; n++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/f%d", dir, n);
    fds[n] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fds[n] < 0 && errno == EMFILE) break;
    CHECK(fds[n] >= 0);
    CHECK(write(fds[n], "abc", 3) == 3 && lseek(fds[n], 0, SEEK_SET) == 0);
    char back[4] = {0};
    CHECK(read(fds[n], back, 4) == 3 && strcmp(back, "abc") == 0);
  }
  for (int i = 0; i < n; i++) CHECK(close(fds[i]) == 0);
  return n;
}

static void *peer(void *arg) {
  (void)arg;
  pingpong(0, 1);
  pthread_barrier_wait(&step); /* main: the close loop */
  pthread_barrier_wait(&step);
  peer_files = use_files();
  pthread_barrier_wait(&step); /* main: new pipes */
  pthread_barrier_wait(&step);
  pingpong(0, 3);
  return NULL;
}

int main(void) {
  dir = make_tmpdir();
  pthread_t t;
  unsigned long long a = start_pingpong(LIMIT, peer, &t);
  pthread_barrier_wait(&step);

  int closed = 0;
  for (int fd = 3; fd < LIMIT; ++fd) closed += close(fd) == 0;
  /* (One more than natively under rewind: the peer's desched event.) */
  printf("the close loop closed %d fds\n", closed);
  pthread_barrier_wait(&step);
  pthread_barrier_wait(&step);
  printf("the peer used %d files\n", peer_files);

  CHECK(pipe(to_main) == 0 && pipe(to_peer) == 0);
  pthread_barrier_wait(&step);
  unsigned long long b = pingpong(1, 4);
  CHECK(pthread_join(t, NULL) == 0);
  printf("ping-pong before %016llx, after %016llx\n", a, b);
  return 0;
}
