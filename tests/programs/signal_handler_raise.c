/* Checks sigaction with an SA_SIGINFO handler and raise() (a synchronous
 * self-signal, tgkill underneath): the handler must run at the same point in
 * replay, see the same siginfo, and its side effects must show. */
#include "common.h"
#include <signal.h>

static volatile sig_atomic_t count;
static volatile int last_signo, last_code, last_pid_ok;

static void handler(int sig, siginfo_t *si, void *uctx) {
  count++;
  last_signo = si->si_signo;
  last_code = si->si_code;
  last_pid_ok = si->si_pid == getpid();
  /* Output from inside a handler: write(2) is async-signal-safe. */
  char msg[] = "in handler\n";
  CHECK(write(1, msg, sizeof msg - 1) > 0);
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  show("sigaction USR1", sigaction(SIGUSR1, &sa, NULL));
  struct sigaction old;
  show("sigaction query", sigaction(SIGUSR1, NULL, &old));
  printf("  installed handler is ours %d flags has SIGINFO %d\n", old.sa_sigaction == handler,
         !!(old.sa_flags & SA_SIGINFO));
  show("sigaction SIGKILL (EINVAL)", sigaction(SIGKILL, &sa, NULL));

  for (int i = 0; i < 3; i++) {
    show("raise USR1", raise(SIGUSR1));
    printf("  count %d signo %d code %d (SI_TKILL %d) pid ok %d\n", count, last_signo,
           last_code, SI_TKILL, last_pid_ok);
  }
  /* An ignored signal has no effect; the default action of SIGUSR2 would kill. */
  signal(SIGUSR2, SIG_IGN);
  show("raise ignored USR2", raise(SIGUSR2));
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigaction(SIGUSR2, &sa, NULL);
  show("raise USR2 with RESETHAND", raise(SIGUSR2));
  sigaction(SIGUSR2, NULL, &old);
  printf("  handler reset to default %d, count %d\n", old.sa_handler == SIG_DFL, count);
  return 0;
}
