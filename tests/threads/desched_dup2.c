/* dup2 and dup3 onto every fd number a daemon might redirect must not
 * leave the syscall buffer holding a stale fd number.
 *
 * Under `rewind record` each thread that reads a pipe gets a desched event
 * (docs/syscallbuf.md), an fd the program never opened. A dup2 onto its
 * number closes it and puts the program's file there. The buffer must then
 * forget the old number: were it to treat the program's file as its event,
 * the program's close() of it would fail with EBADF, and a later blocking
 * read would no longer stop the thread for the recorder.
 *
 * So: a blocking pipe ping-pong between two threads (both get an event),
 * then dup() of every number (none may copy an event), then /dev/null dup2'ed (and dup3'ed, alternately) onto every number above
 * the pipes' and below a low fd limit, each checked and closed (every
 * close must succeed), then the ping-pong again (the blocking path must
 * still work). */
#define _GNU_SOURCE
#include "../programs/common.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>

#define ROUNDS 20
#define TOP 64 /* RLIMIT_NOFILE: every number below it is redirected */

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

static void *peer(void *arg) {
  (void)arg;
  pingpong(0, 1);
  pthread_barrier_wait(&step); /* main: dup2 and close */
  pthread_barrier_wait(&step);
  pingpong(0, 3);
  return NULL;
}

/* /dev/null onto [from, TOP), then each closed. Returns how many were
 * open before (fcntl(F_GETFD) answers for the program's fds only). */
static int redirect_all(int from) {
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  CHECK(null >= 0);
  int was_open = 0;
  for (int fd = from; fd < TOP; ++fd) {
    if (fd == null) continue;
    was_open += fcntl(fd, F_GETFD) >= 0;
    if (fd % 2)
      CHECK(dup2(null, fd) == fd);
    else
      CHECK(dup3(null, fd, O_CLOEXEC) == fd);
    char c;
    CHECK(read(fd, &c, 1) == 0);
    CHECK(write(fd, "x", 1) == 1);
  }
  for (int fd = from; fd < TOP; ++fd)
    if (fd != null) CHECK(close(fd) == 0);
  CHECK(close(null) == 0);
  return was_open;
}

/* dup() of every number in [from, TOP): none may hand the program a
 * perf event, which natively it never opened (dup is a traced syscall,
 * which the recorder answers with EBADF for a desched event's number).
 * Returns how many numbers dup() took. */
static int dup_all(int from) {
  int dups = 0;
  for (int fd = from; fd < TOP; ++fd) {
    const int copy = dup(fd);
    if (copy < 0) continue;
    char link[64], target[256] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", copy);
    CHECK(readlink(link, target, sizeof target - 1) > 0);
    CHECK(strcmp(target, "anon_inode:[perf_event]") != 0);
    CHECK(close(copy) == 0);
    ++dups;
  }
  return dups;
}

int main(void) {
  struct rlimit lim;
  CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  lim.rlim_cur = TOP;
  CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  CHECK(pipe(to_main) == 0 && pipe(to_peer) == 0);
  CHECK(pthread_barrier_init(&step, NULL, 2) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, peer, NULL) == 0);
  unsigned long long a = pingpong(1, 2);
  pthread_barrier_wait(&step);

  /* Above the pipes, whose numbers the ping-pong needs. */
  const int from = to_peer[1] + 1;
  printf("dup() took %d of %d..%d\n", dup_all(from), from, TOP - 1);
  printf("redirected onto %d..%d, %d of them open before\n", from, TOP - 1,
         redirect_all(from));
  pthread_barrier_wait(&step);
  unsigned long long b = pingpong(1, 4);
  CHECK(pthread_join(t, NULL) == 0);
  printf("ping-pong before %016llx, after %016llx\n", a, b);
  return 0;
}
