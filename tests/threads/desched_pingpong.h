/* The part the desched tests share: two threads play a pipe ping-pong in
 * which every read blocks until the other side writes, so that both get a
 * desched event under `rewind record` (docs/syscallbuf.md). The includer
 * defines ROUNDS and includes ../programs/common.h first. */
#pragma once
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

static int to_main[2], to_peer[2];
static pthread_barrier_t step;

/* Enough work that the other thread's read really blocks first. */
static unsigned long long compute(unsigned long long x, int n) {
  for (int i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    __asm__ volatile("" : "+r"(x));
  }
  return x;
}

static void read_exact(int fd, void* buf, size_t n) {
  ssize_t r;
  do r = read(fd, buf, n);
  while (r < 0 && errno == EINTR);
  CHECK(r == (ssize_t)n);
}

/* One side of a ping-pong on rfd and wfd: each read blocks until the other
 * side writes. Returns a hash of what went back and forth. */
static unsigned long long pingpong_on(int rfd, int wfd, int first, unsigned long long h) {
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

/* Main's side of the ping-pong, from the program's start: a low fd limit,
 * the pipes, the peer thread (which plays its side and then waits at
 * `step`), the first ping-pong. Returns its hash. */
static unsigned long long start_pingpong(rlim_t limit, void *(*peer)(void *), pthread_t *t) {
  struct rlimit lim;
  CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  lim.rlim_cur = limit;
  CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  CHECK(pipe(to_main) == 0 && pipe(to_peer) == 0);
  CHECK(pthread_barrier_init(&step, NULL, 2) == 0);
  CHECK(pthread_create(t, NULL, peer, NULL) == 0);
  return pingpong_on(to_main[0], to_peer[1], 1, 2);
}
