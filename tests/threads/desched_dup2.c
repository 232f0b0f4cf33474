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


#include "desched_pingpong.h"

static unsigned long long pingpong(int first, unsigned long long h) {
  return first ? pingpong_on(to_main[0], to_peer[1], 1, h)
               : pingpong_on(to_peer[0], to_main[1], 0, h);
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
  pthread_t t;
  unsigned long long a = start_pingpong(TOP, peer, &t);
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
