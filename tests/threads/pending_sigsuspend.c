/* Checks blocked and pending signals across threads: main blocks SIGUSR1
 * and SIGUSR2; a thread sends USR1 to main (thread-directed) and USR2 to the
 * process. sigpending shows both; sigsuspend unblocking only USR1 runs just
 * its handler; unblocking USR2 runs its handler before sigprocmask returns.
 * A blocked signal that is ignored while pending is discarded. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>

static volatile int order[4], n;
static pthread_t main_thread;

static void handler(int sig) { order[n++] = sig; }

static void *sender(void *arg) {
  CHECK(pthread_kill(main_thread, SIGUSR1) == 0);
  CHECK(kill(getpid(), SIGUSR2) == 0);
  CHECK(kill(getpid(), SIGWINCH) == 0);
  return NULL;
}

static void show_pending(const char *when) {
  sigset_t p;
  sigpending(&p);
  printf("%s: pending USR1 %d USR2 %d WINCH %d\n", when, sigismember(&p, SIGUSR1),
         sigismember(&p, SIGUSR2), sigismember(&p, SIGWINCH));
}

int main(void) {
  main_thread = pthread_self();
  struct sigaction sa = {.sa_handler = handler};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  sigaction(SIGWINCH, &sa, NULL);
  sigset_t block, usr1_open;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGWINCH);
  CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0); /* the sender inherits it */
  pthread_t t;
  CHECK(pthread_create(&t, NULL, sender, NULL) == 0);
  pthread_join(t, NULL);
  show_pending("after the sender");

  signal(SIGWINCH, SIG_IGN); /* discards the pending SIGWINCH */
  show_pending("after ignoring WINCH");

  usr1_open = block;
  sigdelset(&usr1_open, SIGUSR1);
  int r = sigsuspend(&usr1_open);
  printf("sigsuspend -> %d (%s), handlers so far %d\n", r, strerrorname_np(errno), n);
  CHECK(n == 1 && order[0] == SIGUSR1);
  show_pending("after sigsuspend");

  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_UNBLOCK, &usr2, NULL);
  printf("after unblocking USR2: handlers %d, last %s\n", n, order[n - 1] == SIGUSR2 ? "USR2" : "?");
  CHECK(n == 2 && order[1] == SIGUSR2);
  show_pending("at the end");
  return 0;
}
