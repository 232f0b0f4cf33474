/* A target for debugging across a forced preemption point: a syscall-free
 * loop ends only when a SIGALRM handler sets `stop`, so the recorder delivers
 * the signal by interrupting the loop, and replay (forward and reverse) must
 * find that point again. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t stop;
volatile unsigned long long iterations; /* in memory: the loop words tell iterations apart */

static void on_alarm(int sig) { stop = 1; }

int main(void) {
  struct sigaction sa = {.sa_handler = on_alarm};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval once = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &once, NULL);
  unsigned long long x = 0x9e3779b97f4a7c15ull;
  while (!stop) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    iterations++;
  }
  printf("stopped after %llu iterations (varies), state %llx\n", iterations, x);
  return 0;
}
