/* bench: a compute loop with no syscalls, interrupted by a SIGALRM every
 * 10 ms (ITIMER_REAL). The recorder holds each signal back and delivers it
 * at a forced preemption point, which replay must find again. argv[1]:
 * loop iterations. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { alarms++; }

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 500000000;
  struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval every = {{0, 10000}, {0, 10000}};
  setitimer(ITIMER_REAL, &every, NULL);
  unsigned long long x = 88172645463325252ull, mix = 0;
  for (long i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    mix += x ^ (unsigned long long)alarms;
  }
  printf("alarms %d mix %llx\n", (int)alarms, mix);
  return 0;
}
