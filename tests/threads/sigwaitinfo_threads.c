/* Checks synchronous signal acceptance: 3 threads each sigqueue 5 SIGRTMIN+6
 * to the process with payloads t*100+k; main, with the signal blocked
 * everywhere, takes all 15 with sigwaitinfo. Per sender the payloads arrive
 * in order (an RT queue is FIFO); the interleaving of senders varies. Then
 * sigtimedwait times out (EAGAIN) and sigwait takes a standard signal. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

static void *sender(void *arg) {
  long t = (long)arg;
  for (int k = 0; k < 5; k++)
    CHECK(sigqueue(getpid(), SIGRTMIN + 6, (union sigval){.sival_int = (int)(t * 100 + k)}) == 0);
  return NULL;
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 6);
  sigaddset(&s, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  pthread_t t[3];
  for (long i = 0; i < 3; i++) CHECK(pthread_create(&t[i], NULL, sender, (void *)i) == 0);
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN + 6);
  int next[3] = {0, 0, 0};
  printf("payloads in arrival order (varies):");
  for (int i = 0; i < 15; i++) {
    siginfo_t si;
    CHECK(sigwaitinfo(&rt, &si) == SIGRTMIN + 6);
    CHECK(si.si_code == SI_QUEUE && si.si_pid == getpid());
    int v = si.si_value.sival_int, from = v / 100;
    CHECK(from >= 0 && from < 3 && v % 100 == next[from]); /* FIFO per sender */
    next[from]++;
    printf(" %d", v);
  }
  printf("\n");
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);

  struct timespec ten_ms = {0, 10000000};
  siginfo_t si;
  show("sigtimedwait with nothing queued", sigtimedwait(&rt, &si, &ten_ms));
  pthread_kill(pthread_self(), SIGUSR1);
  sigset_t u;
  sigemptyset(&u);
  sigaddset(&u, SIGUSR1);
  int sig = 0;
  CHECK(sigwait(&u, &sig) == 0);
  printf("sigwait -> %s\n", sig == SIGUSR1 ? "SIGUSR1" : "?");
  CHECK(sig == SIGUSR1);
  return 0;
}
