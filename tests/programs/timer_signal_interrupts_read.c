/* Checks an asynchronous signal that interrupts a blocking syscall: an
 * interval timer's SIGALRM arrives while read() blocks on an empty pipe.
 * Without SA_RESTART the read fails with EINTR; with SA_RESTART it is
 * restarted and gets data written by the handler. */
#include "common.h"
#include <signal.h>
#include <sys/time.h>

static int pipe_fds[2];
static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
  alarms++;
  if (alarms == 2) CHECK(write(pipe_fds[1], "!", 1) == 1);
}

static void arm(long usec) {
  struct itimerval it = {{0, 0}, {0, usec}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

int main(void) {
  CHECK(pipe(pipe_fds) == 0);
  struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = 0};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  arm(5000);
  char c = 0;
  ssize_t n = read(pipe_fds[0], &c, 1);
  printf("read without SA_RESTART -> %zd (%s), alarms %d\n", n, n < 0 ? strerrorname_np(errno) : "", alarms);

  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  arm(5000);
  n = read(pipe_fds[0], &c, 1);
  printf("read with SA_RESTART -> %zd '%c', alarms %d\n", n, c, alarms);

  /* The remaining time of a disarmed timer is zero; of an armed one, not. */
  struct itimerval cur;
  arm(900000);
  getitimer(ITIMER_REAL, &cur);
  printf("getitimer armed: left %ld us (nonzero %d)\n", (long)cur.it_value.tv_usec, cur.it_value.tv_usec > 0);
  arm(0);
  getitimer(ITIMER_REAL, &cur);
  printf("getitimer disarmed: left %ld us\n", (long)cur.it_value.tv_usec);
  return 0;
}
