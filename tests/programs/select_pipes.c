/* Checks select and pselect6 on pipes: replay must restore the fd_sets
 * and the timeval that select updates with the time left. */
#include "common.h"
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>

static void print_set(const char *what, int r, fd_set *s, int maxfd) {
  printf("%s -> %d ready:", what, r);
  for (int fd = 0; fd <= maxfd; fd++)
    if (FD_ISSET(fd, s)) printf(" %d", fd);
  printf("\n");
}

int main(void) {
  int a[2], b[2];
  CHECK(pipe(a) == 0 && pipe(b) == 0);
  int maxfd = b[1];
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(a[0], &rd);
  FD_SET(b[0], &rd);
  struct timeval tv = {0, 1000};
  int r = select(maxfd + 1, &rd, NULL, NULL, &tv);
  print_set("select nothing ready", r, &rd, maxfd);
  printf("  timeval left %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(2000);
    CHECK(write(b[1], "hi", 2) == 2);
    _exit(0);
  }
  FD_ZERO(&rd);
  FD_SET(a[0], &rd);
  FD_SET(b[0], &rd);
  fd_set wr;
  FD_ZERO(&wr);
  tv = (struct timeval){5, 0};
  r = select(maxfd + 1, &rd, &wr, NULL, &tv);
  print_set("select waits for child", r, &rd, maxfd);
  printf("  timeval left %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);

  FD_ZERO(&rd);
  FD_SET(b[0], &rd);
  FD_ZERO(&wr);
  FD_SET(a[1], &wr);
  struct timespec ts = {1, 0};
  sigset_t mask;
  sigemptyset(&mask);
  r = pselect(maxfd + 1, &rd, &wr, NULL, &ts, &mask);
  print_set("pselect read set", r, &rd, maxfd);
  print_set("pselect write set", r, &wr, maxfd);
  FD_ZERO(&rd);
  FD_SET(900, &rd);
  tv = (struct timeval){0, 0};
  r = select(901, &rd, NULL, NULL, &tv);
  printf("select on unopened fd 900 -> %d (%s)\n", r, r < 0 ? strerrorname_np(errno) : "");
  waitpid(child, NULL, 0);
  return 0;
}
