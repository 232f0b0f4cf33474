/* Checks asynchronous signals that arrive during a long stretch with no
 * syscalls: a 1 ms ITIMER_REAL and an ITIMER_PROF tick while a loop mixes the
 * handlers' counters into a checksum. Where each signal lands decides the
 * checksum, so replay must deliver every signal at the recorded point. */
#include "common.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms, profs;
static void on_alarm(int sig) { alarms++; }
static void on_prof(int sig) { profs++; }

int main(void) {
  struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  sa.sa_handler = on_prof;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval every_ms = {{0, 1000}, {0, 1000}};
  CHECK(setitimer(ITIMER_REAL, &every_ms, NULL) == 0);
  CHECK(setitimer(ITIMER_PROF, &every_ms, NULL) == 0);

  unsigned long long x = 88172645463325252ull, mix = 0;
  int first_seen_at = -1;
  for (int i = 0; i < 200000000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    /* Reading the counters each iteration ties the result to the exact
     * iteration at which each handler ran. */
    mix += x ^ (unsigned long long)(alarms * 31 + profs);
    if (first_seen_at < 0 && alarms + profs > 0) first_seen_at = i;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  setitimer(ITIMER_PROF, &off, NULL);
  printf("alarms %d profs %d first seen at iteration %d\n", alarms, profs, first_seen_at);
  printf("mix %llx\n", mix);
  return 0;
}
