/* Checks interval timers and alarm() with threads around: a 10 ms
 * ITIMER_REAL interval timer delivers SIGALRM to main (workers block it and
 * sit in read()) while main waits in sigsuspend for 5 ticks; getitimer and
 * alarm's "seconds left" report the kernel's view, which replay must return. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile sig_atomic_t ticks, wrong_thread;
static pid_t main_tid;
static int fds[2];

static void on_alarm(int sig) {
  ticks++;
  if ((pid_t)syscall(SYS_gettid) != main_tid) wrong_thread = 1;
}

static void *worker(void *arg) {
  char c;
  read(fds[0], &c, 1); /* returns at EOF, when main closes the pipe */
  return NULL;
}

int main(void) {
  main_tid = getpid();
  CHECK(pipe(fds) == 0);
  sigset_t alrm, old;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alrm, &old);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);

  struct sigaction sa = {.sa_handler = on_alarm};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  struct itimerval every = {{0, 10000}, {0, 10000}}, now;
  CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0);
  CHECK(getitimer(ITIMER_REAL, &now) == 0);
  printf("interval %ld us, first expiry within %d\n", now.it_interval.tv_usec, now.it_value.tv_usec <= 10000);
  int wakeups = 0;
  while (ticks < 5) {
    sigsuspend(&old);
    wakeups++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("ticks %d after %d wakeups, all on main %d\n", ticks, wakeups, !wrong_thread);
  CHECK(!wrong_thread);

  printf("alarm(100) -> %u\n", alarm(100));
  unsigned left = alarm(0);
  printf("alarm(0) -> %u\n", left);
  CHECK(left >= 99 && left <= 100);
  /* alarm() and ITIMER_REAL are the same timer. */
  alarm(50);
  CHECK(getitimer(ITIMER_REAL, &now) == 0);
  printf("after alarm(50), getitimer says %ld s left\n", (long)now.it_value.tv_sec);
  alarm(0);
  close(fds[1]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  return 0;
}
