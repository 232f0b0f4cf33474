/* Checks 10,000 signals between two threads: they play ping-pong with
 * pthread_sigqueue(SIGUSR1, i), 5,000 each way. Each waits in sigsuspend
 * (SIGUSR1 blocked otherwise, so none is lost) until its handler has seen the
 * next payload, then answers. The handler checks payload order and sums it;
 * counts and sums are exact at the end. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>

#define EACH_WAY 5000

static pthread_t ping, pong;
/* Written by the handler while sigsuspend runs: volatile. */
static __thread volatile int received;
static __thread volatile long long payload_sum;
static __thread volatile int order_ok = 1;
static long long sums[2];
static int counts[2];

static void handler(int sig, siginfo_t *si, void *ctx) {
  if (si->si_value.sival_int != received) order_ok = 0;
  payload_sum += si->si_value.sival_int;
  received++;
}

static void play(int me, pthread_t peer) {
  sigset_t open;
  pthread_sigmask(SIG_BLOCK, NULL, &open);
  sigdelset(&open, SIGUSR1);
  for (int i = 0; i < EACH_WAY; i++) {
    if (me == 0) CHECK(pthread_sigqueue(peer, SIGUSR1, (union sigval){.sival_int = i}) == 0);
    while (received < i + 1) sigsuspend(&open);
    if (me == 1) CHECK(pthread_sigqueue(peer, SIGUSR1, (union sigval){.sival_int = i}) == 0);
  }
  CHECK(order_ok);
  sums[me] = payload_sum;
  counts[me] = received;
}

static void *pong_main(void *arg) {
  play(1, ping);
  return NULL;
}

int main(void) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* inherited by pong */
  struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  ping = pthread_self();
  CHECK(pthread_create(&pong, NULL, pong_main, NULL) == 0);
  play(0, pong);
  pthread_join(pong, NULL);
  long long want = (long long)EACH_WAY * (EACH_WAY - 1) / 2;
  printf("ping got %d (sum %lld), pong got %d (sum %lld), total %d\n", counts[0], sums[0],
         counts[1], sums[1], counts[0] + counts[1]);
  CHECK(counts[0] == EACH_WAY && counts[1] == EACH_WAY && sums[0] == want && sums[1] == want);
  return 0;
}
