/* A buffered close in one thread, while another thread of the process
 * holds on to what it knew of that fd number. Thread w writes to a pipe
 * (after its first write the recorder lets its writes to that fd go
 * untraced), then the main thread closes the pipe's write end and dup()s
 * stdout into the same number, and w writes through it again: that write
 * reaches stdout, so it must be traced for replay to print it. Then a
 * close-everything loop, as daemons and spawners do, which must not take
 * rewind's own fds away (natively there are none to close). */
#include "common.h"
#include <pthread.h>

static pthread_barrier_t step;
static int wfd = -1;

static void *writer(void *arg) {
  (void)arg;
  CHECK(write(wfd, "ab", 2) == 2);
  CHECK(write(wfd, "cd", 2) == 2);
  pthread_barrier_wait(&step);  /* main: read, close, dup */
  pthread_barrier_wait(&step);
  static const char line[] = "writer: through the reused fd number\n";
  CHECK(write(wfd, line, sizeof line - 1) == (ssize_t)(sizeof line - 1));
  pthread_barrier_wait(&step);
  return NULL;
}

int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  wfd = p[1];
  CHECK(pthread_barrier_init(&step, NULL, 2) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, writer, NULL) == 0);

  pthread_barrier_wait(&step);
  char got[5] = {0};
  CHECK(read(p[0], got, 4) == 4);
  printf("main: the pipe gave '%s'\n", got);
  CHECK(close(p[1]) == 0);
  CHECK(dup(1) == p[1]);
  pthread_barrier_wait(&step);
  pthread_barrier_wait(&step);
  CHECK(pthread_join(t, NULL) == 0);

  /* Close every fd from 3 up, and count what was open. */
  int closed = 0, ebadf = 0;
  for (int fd = 3; fd < 256; ++fd) {
    if (close(fd) == 0)
      ++closed;
    else if (errno == EBADF)
      ++ebadf;
  }
  printf("main: closed %d fds, %d were not open\n", closed, ebadf);
  /* A pipe again, in the freed numbers, and it works. */
  CHECK(pipe(p) == 0);
  printf("main: a new pipe got fds %d and %d\n", p[0], p[1]);
  CHECK(write(p[1], "ok", 2) == 2 && read(p[0], got, 2) == 2);
  return 0;
}
