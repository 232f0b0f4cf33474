/* Checks a compute loop that ends only when a SIGALRM handler sets a flag:
 * a 50 ms one-shot ITIMER_REAL, and a loop with no syscalls polling the
 * flag. The recorder cannot wait for a syscall to deliver the signal: it must
 * interrupt the loop, and replay must deliver the signal at the same
 * iteration (the iteration count and the state are printed). */
#include "../programs/common.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t stop;
static void on_alarm(int sig) { stop = 1; }

int main(void) {
  struct sigaction sa = {.sa_handler = on_alarm};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  struct itimerval once = {{0, 0}, {0, 50000}};
  CHECK(setitimer(ITIMER_REAL, &once, NULL) == 0);

  unsigned long long x = 0x9e3779b97f4a7c15ull, iterations = 0;
  while (!stop) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    iterations++;
  }
  /* Re-derive x from the count: the loop state must be consistent. */
  unsigned long long y = 0x9e3779b97f4a7c15ull;
  for (unsigned long long i = 0; i < iterations; i++) {
    y ^= y << 13;
    y ^= y >> 7;
    y ^= y << 17;
  }
  CHECK(x == y);
  printf("stopped after %llu iterations (varies), state %llx\n", iterations, x);
  CHECK(iterations > 0);
  return 0;
}
