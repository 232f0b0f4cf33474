/* Checks nanosleep and clock_nanosleep (relative and absolute, 1 ms) and
 * the time each took: replay must return the recorded results and clock
 * values (it need not actually sleep). */
#include "common.h"
#include <time.h>

static long long now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
  long long t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec req = {0, 1000000}, rem = {7, 7};
  show("nanosleep 1ms", nanosleep(&req, &rem));
  long long t1 = now_ns(CLOCK_MONOTONIC);
  printf("  slept %lld ns (>= 1 ms: %d), rem untouched %ld\n", t1 - t0, t1 - t0 >= 1000000,
         (long)rem.tv_sec);
  show("clock_nanosleep rel 1ms", clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL));
  long long t2 = now_ns(CLOCK_MONOTONIC);
  printf("  slept %lld ns\n", t2 - t1);

  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += 1500000;
  if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
  show("clock_nanosleep abs +1.5ms", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
  long long t3 = now_ns(CLOCK_MONOTONIC);
  printf("  woke %lld ns after the deadline was set\n", t3 - t2);

  struct timespec bad = {0, 2000000000};
  show("nanosleep invalid", nanosleep(&bad, NULL));
  /* clock_nanosleep returns the error number rather than setting errno. */
  printf("clock_nanosleep bad clock -> %d\n", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL));
  show("usleep 500", usleep(500));
  printf("total %lld ns\n", now_ns(CLOCK_MONOTONIC) - t0);
  return 0;
}
