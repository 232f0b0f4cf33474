/* Checks kill(getpid(), sig) and kill(0, sig) with handlers, kill with
 * signal 0 as an existence probe, and a signal to a nonexistent pid. The
 * handler counts deliveries; replay must deliver at the same points. */
#include "common.h"
#include <signal.h>

static volatile sig_atomic_t usr1, usr2;
static volatile int sender_ok;
static void on_usr1(int sig, siginfo_t *si, void *u) { usr1++; sender_ok = si->si_pid == getpid(); }
static void on_usr2(int sig) { usr2++; }

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGUSR2, on_usr2);

  show("kill self USR1", kill(getpid(), SIGUSR1));
  printf("  usr1 %d sender is self %d\n", usr1, sender_ok);
  /* kill(0, ...) signals the whole process group: make it ours alone first,
   * or it would also hit rewind, the driver and ctest. */
  show("setpgid own group", setpgid(0, 0));
  show("kill group USR2", kill(0, SIGUSR2));
  printf("  usr2 %d\n", usr2);
  show("kill self 0 (probe)", kill(getpid(), 0));
  show("kill nonexistent pid", kill(0x7ffffff0, SIGUSR1));
  show("kill bad signal", kill(getpid(), 1000));

  /* A signal to self while it is blocked is delivered at unblock. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  kill(getpid(), SIGUSR2);
  printf("blocked: usr2 %d\n", usr2);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  printf("unblocked: usr2 %d\n", usr2);

  /* A work loop with signals sprinkled in: the count depends on nothing
   * nondeterministic, but the points where handlers run must match. */
  unsigned long acc = 0;
  for (int i = 1; i <= 100; i++) {
    acc = acc * 6364136223846793005ul + (unsigned long)usr1;
    if (i % 10 == 0) kill(getpid(), SIGUSR1);
  }
  printf("loop acc %lx usr1 %d\n", acc, usr1);
  return 0;
}
