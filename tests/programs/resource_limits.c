/* Checks getrlimit, setrlimit and prlimit64 (glibc's getrlimit is
 * prlimit64 underneath), including one that lowers a soft limit and reads it
 * back, and getrusage: replay must restore the recorded structs. */
#include "common.h"
#include <sys/resource.h>

int main(void) {
  const struct { int res; const char *name; } lims[] = {
      {RLIMIT_NOFILE, "NOFILE"}, {RLIMIT_STACK, "STACK"}, {RLIMIT_CORE, "CORE"},
      {RLIMIT_AS, "AS"},         {RLIMIT_NPROC, "NPROC"}, {RLIMIT_CPU, "CPU"},
  };
  for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
    struct rlimit rl;
    int r = getrlimit(lims[i].res, &rl);
    printf("getrlimit %-6s -> %d cur %lld max %lld\n", lims[i].name, r, (long long)rl.rlim_cur,
           (long long)rl.rlim_max);
  }
  struct rlimit old, lower = {64, 0};
  CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
  lower.rlim_max = old.rlim_max;
  show("prlimit NOFILE -> 64", prlimit(0, RLIMIT_NOFILE, &lower, &old));
  struct rlimit now;
  show("prlimit get", prlimit(getpid(), RLIMIT_NOFILE, NULL, &now));
  printf("  cur %lld (old %lld)\n", (long long)now.rlim_cur, (long long)old.rlim_cur);
  struct rlimit too_high = {old.rlim_max + 1, old.rlim_max + 1};
  show("setrlimit above hard max", setrlimit(RLIMIT_NOFILE, &too_high));
  show("getrlimit bad resource", getrlimit(999, &now));
  show("setrlimit restore", setrlimit(RLIMIT_NOFILE, &old));

  struct rusage ru;
  show("getrusage", getrusage(RUSAGE_SELF, &ru));
  printf("  utime %ld.%06ld maxrss %ld minflt %ld\n", (long)ru.ru_utime.tv_sec,
         (long)ru.ru_utime.tv_usec, ru.ru_maxrss, ru.ru_minflt);
  return 0;
}
