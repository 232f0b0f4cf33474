/* Checks signal routing between threads. Each of 3 workers has its own set
 * of unblocked signals (inside sigsuspend only). tgkill(SIGUSR1) and
 * pthread_sigqueue(SIGRTMIN+5, payload) target each worker; kill(SIGUSR2) and
 * sigqueue(SIGRTMIN+4, payload) target the process and must land on the only
 * worker that accepts them. Handlers log signal, si_code and payload. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#define W 3
static pthread_t workers[W];
static pid_t tids[W];
static volatile int got[W], expected[W] = {2, 3, 3};
static char log_[W][256];
static __thread int self = -1;

static void handler(int sig, siginfo_t *si, void *ctx) {
  char *l = log_[self];
  size_t n = strlen(l);
  snprintf(l + n, 256 - n, " %s/%d/%d", sig == SIGUSR1 ? "USR1" : sig == SIGUSR2 ? "USR2" : sig == SIGRTMIN + 4 ? "RT4" : "RT5",
           si->si_code, si->si_value.sival_int);
  CHECK(si->si_pid == getpid());
  got[self]++;
}

static void *worker(void *arg) {
  self = (int)(long)arg;
  tids[self] = (pid_t)syscall(SYS_gettid);
  sigset_t allow;
  sigfillset(&allow);
  sigdelset(&allow, SIGUSR1);
  sigdelset(&allow, SIGRTMIN + 5);
  if (self == 1) sigdelset(&allow, SIGRTMIN + 4); /* only worker 1 takes RT4 */
  if (self == 2) sigdelset(&allow, SIGUSR2);      /* only worker 2 takes USR2 */
  while (got[self] < expected[self]) sigsuspend(&allow);
  return NULL;
}

int main(void) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL); /* workers inherit: all blocked */
  struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
  sigfillset(&sa.sa_mask);
  int sigs[] = {SIGUSR1, SIGUSR2, SIGRTMIN + 4, SIGRTMIN + 5};
  for (int i = 0; i < 4; i++) CHECK(sigaction(sigs[i], &sa, NULL) == 0);
  for (long i = 0; i < W; i++) CHECK(pthread_create(&workers[i], NULL, worker, (void *)i) == 0);
  for (int i = 0; i < W; i++)
    while (__atomic_load_n(&tids[i], __ATOMIC_ACQUIRE) == 0) sched_yield();

  for (int i = 0; i < W; i++) {
    CHECK(syscall(SYS_tgkill, getpid(), tids[i], SIGUSR1) == 0);
    CHECK(pthread_sigqueue(workers[i], SIGRTMIN + 5, (union sigval){.sival_int = 500 + i}) == 0);
  }
  CHECK(kill(getpid(), SIGUSR2) == 0);
  CHECK(sigqueue(getpid(), SIGRTMIN + 4, (union sigval){.sival_int = 444}) == 0);
  for (int i = 0; i < W; i++) pthread_join(workers[i], NULL);
  for (int i = 0; i < W; i++) {
    printf("worker %d got %d (order varies):%s\n", i, got[i], log_[i]);
    CHECK(got[i] == expected[i]);
    char want[32];
    snprintf(want, sizeof want, "RT5/%d/%d", SI_QUEUE, 500 + i);
    CHECK(strstr(log_[i], want) != NULL);
  }
  CHECK(strstr(log_[1], "RT4/-1/444") && strstr(log_[2], "USR2/0/"));
  return 0;
}
