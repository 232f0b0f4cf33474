/* Checks poll and ppoll on pipes: replay must return the recorded ready
 * counts and revents, including a timeout with nothing ready and a child
 * that makes a pipe readable later. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

int main(void) {
  int a[2], b[2];
  CHECK(pipe(a) == 0 && pipe(b) == 0);
  struct pollfd fds[3] = {{a[0], POLLIN, 0}, {b[0], POLLIN, 0}, {b[1], POLLOUT, 0}};

  int r = poll(fds, 2, 1);
  printf("poll nothing ready, 1 ms -> %d\n", r);
  CHECK(write(a[1], "x", 1) == 1);
  r = poll(fds, 3, 0);
  printf("poll -> %d revents %#x %#x %#x\n", r, fds[0].revents, fds[1].revents, fds[2].revents);

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    CHECK(write(b[1], "late", 4) == 4);
    _exit(0);
  }
  char c;
  CHECK(read(a[0], &c, 1) == 1);
  struct timespec timeout = {5, 0};
  sigset_t mask;
  sigemptyset(&mask);
  r = ppoll(fds, 2, &timeout, &mask);
  printf("ppoll waits for child -> %d revents %#x %#x\n", r, fds[0].revents, fds[1].revents);
  char buf[8] = {0};
  printf("read -> %zd '%s'\n", read(b[0], buf, sizeof buf - 1), buf);

  close(b[1]);
  waitpid(child, NULL, 0);
  r = poll(fds, 2, 0);
  printf("after writers closed -> %d revents %#x %#x\n", r, fds[0].revents, fds[1].revents);
  struct pollfd bad = {999, POLLIN, 0};
  r = poll(&bad, 1, 0);
  printf("poll bad fd -> %d revents %#x\n", r, bad.revents);
  return 0;
}
