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

static int to_main[2], to_peer[2];
static pthread_barrier_t step;
static const char *dir;
static int peer_files;

/* Enough work that the other thread's read really blocks first. */
static unsigned long long compute(unsigned long long x, int n) {
  for (int i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    __asm__ volatile("" : "+r"(x));
  }
  return x;
}

static void read_exact(int fd, void *buf, size_t n) {
  ssize_t r;
  do r = read(fd, buf, n);
  while (r < 0 && errno == EINTR);
  CHECK(r == (ssize_t)n);
}

/* One side of a ping-pong: each read blocks until the other side writes. */
static unsigned long long pingpong(int first, unsigned long long h) {
  const int rfd = first ? to_main[0] : to_peer[0];
  const int wfd = first ? to_peer[1] : to_main[1];
  for (int i = 0; i < ROUNDS; i++) {
    unsigned long long v = 0;
    if (!first || i > 0) read_exact(rfd, &v, sizeof v);
    h = compute(h ^ v, 20000);
    CHECK(write(wfd, &h, sizeof h) == sizeof h);
  }
  if (!first) return h;
  unsigned long long v;
  read_exact(rfd, &v, sizeof v);
  return h ^ v;
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
  struct rlimit lim;
  CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  lim.rlim_cur = LIMIT;
  CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  CHECK(pipe(to_main) == 0 && pipe(to_peer) == 0);
  CHECK(pthread_barrier_init(&step, NULL, 2) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, peer, NULL) == 0);
  unsigned long long a = pingpong(1, 2);
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
