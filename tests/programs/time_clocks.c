/* Checks clock_gettime on several clocks, clock_getres, gettimeofday and
 * time(). Many of these go through the vDSO, not a syscall, so replay must
 * reproduce vDSO reads too: every value printed differs per run. */
#include "common.h"
#include <sys/time.h>
#include <time.h>

int main(void) {
  const struct { clockid_t id; const char *name; } clocks[] = {
      {CLOCK_REALTIME, "REALTIME"},         {CLOCK_MONOTONIC, "MONOTONIC"},
      {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"}, {CLOCK_BOOTTIME, "BOOTTIME"},
      {CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME"}, {CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME"},
      {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"}, {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
  };
  for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
    struct timespec ts, res;
    int r = clock_gettime(clocks[i].id, &ts);
    int rr = clock_getres(clocks[i].id, &res);
    printf("%-17s -> %d %lld.%09ld (res %d %ld ns)\n", clocks[i].name, r, (long long)ts.tv_sec,
           ts.tv_nsec, rr, res.tv_nsec);
  }
  struct timespec bad;
  show("clock_gettime bad clock", clock_gettime((clockid_t)12345, &bad));

  struct timeval tv;
  struct timezone tz;
  int r = gettimeofday(&tv, &tz);
  printf("gettimeofday -> %d %lld.%06ld\n", r, (long long)tv.tv_sec, (long)tv.tv_usec);
  time_t t1, t2 = time(&t1);
  printf("time -> %lld (stored %d)\n", (long long)t2, t1 == t2);

  /* Monotonic deltas over a busy loop: also nondeterministic. */
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  volatile unsigned long x = 0;
  for (int i = 0; i < 1000000; i++) x += (unsigned long)i;
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("busy loop took %lld ns (x=%lu)\n",
         (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), x);
  char text[64];
  struct tm tm;
  strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", localtime_r(&t2, &tm));
  printf("localtime %s\n", text);
  return 0;
}
