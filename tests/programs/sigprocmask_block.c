/* Checks rt_sigprocmask blocking: a raised signal stays pending while
 * blocked (sigpending shows it) and its handler runs only when unblocked;
 * also sigsuspend-free sigtimedwait on a blocked signal. */
#include "common.h"
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t handled;
static void handler(int sig) { handled++; }

static void print_pending(const char *when) {
  sigset_t p;
  sigpending(&p);
  printf("%s: USR1 pending %d USR2 pending %d handled %d\n", when, sigismember(&p, SIGUSR1),
         sigismember(&p, SIGUSR2), handled);
}

int main(void) {
  signal(SIGUSR1, handler);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  show("block USR1+USR2", sigprocmask(SIG_BLOCK, &set, &old));
  printf("  old mask had USR1 %d\n", sigismember(&old, SIGUSR1));
  raise(SIGUSR1);
  raise(SIGUSR1); /* standard signals do not queue: one delivery */
  print_pending("after raise while blocked");

  sigset_t cur;
  sigprocmask(SIG_SETMASK, NULL, &cur);
  printf("current mask has USR1 %d USR2 %d\n", sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2));

  sigset_t only1;
  sigemptyset(&only1);
  sigaddset(&only1, SIGUSR1);
  show("unblock USR1", sigprocmask(SIG_UNBLOCK, &only1, NULL));
  print_pending("after unblock");

  /* Consume a blocked signal synchronously instead of via a handler. */
  raise(SIGUSR2);
  sigset_t only2;
  sigemptyset(&only2);
  sigaddset(&only2, SIGUSR2);
  siginfo_t si;
  struct timespec ts = {1, 0};
  int sig = sigtimedwait(&only2, &si, &ts);
  printf("sigtimedwait -> %d (USR2 %d) code %d\n", sig, SIGUSR2, si.si_code);
  ts.tv_sec = 0;
  ts.tv_nsec = 1000000;
  sig = sigtimedwait(&only2, &si, &ts);
  printf("sigtimedwait nothing pending -> %d (%s)\n", sig, strerrorname_np(errno));
  print_pending("end");
  show("sigprocmask bad how", sigprocmask(12345, &set, NULL));
  return 0;
}
