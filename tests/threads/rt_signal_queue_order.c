/* Checks the order of delivery of queued signals: with SIGUSR1, SIGRTMIN+1
 * and SIGRTMIN+2 blocked, the program queues 5 SIGRTMIN+2, 5 SIGRTMIN+1
 * (interleaved, with payloads) and SIGUSR1 twice (standard signals do not
 * queue). On unblocking, handlers (which mask all three, so they run one at
 * a time) see USR1 once, then RT+1 in FIFO order, then RT+2 in FIFO order.
 * The same order must come out of sigwaitinfo for a second batch. */
#include "../programs/common.h"
#include <signal.h>

static char seen[256];

static void handler(int sig, siginfo_t *si, void *ctx) {
  size_t n = strlen(seen);
  snprintf(seen + n, sizeof seen - n, " %s:%d", sig == SIGUSR1 ? "USR1" : sig == SIGRTMIN + 1 ? "RT1" : "RT2",
           sig == SIGUSR1 ? 0 : si->si_value.sival_int);
}

static void queue_batch(void) {
  for (int i = 0; i < 5; i++) {
    CHECK(sigqueue(getpid(), SIGRTMIN + 2, (union sigval){.sival_int = 20 + i}) == 0);
    CHECK(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 10 + i}) == 0);
    if (i < 2) CHECK(kill(getpid(), SIGUSR1) == 0);
  }
}

static const char *want = " USR1:0 RT1:10 RT1:11 RT1:12 RT1:13 RT1:14 RT2:20 RT2:21 RT2:22 RT2:23 RT2:24";

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGRTMIN + 1);
  sigaddset(&s, SIGRTMIN + 2);
  struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO, .sa_mask = s};
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGRTMIN + 1, &sa, NULL);
  sigaction(SIGRTMIN + 2, &sa, NULL);

  sigprocmask(SIG_BLOCK, &s, NULL);
  queue_batch();
  sigprocmask(SIG_UNBLOCK, &s, NULL); /* all 11 run before this returns */
  printf("handlers:%s\n", seen);
  CHECK(strcmp(seen, want) == 0);

  seen[0] = 0;
  sigprocmask(SIG_BLOCK, &s, NULL);
  queue_batch();
  for (int i = 0; i < 11; i++) {
    siginfo_t si;
    int sig = sigwaitinfo(&s, &si);
    CHECK(sig > 0);
    handler(sig, &si, NULL);
  }
  printf("sigwaitinfo:%s\n", seen);
  CHECK(strcmp(seen, want) == 0);
  sigset_t p;
  sigpending(&p);
  printf("left pending: %d\n", sigismember(&p, SIGUSR1) + sigismember(&p, SIGRTMIN + 1) + sigismember(&p, SIGRTMIN + 2));
  return 0;
}
