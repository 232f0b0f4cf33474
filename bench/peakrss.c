/* bench helper: peakrss OUTFILE CMD [ARGS...] runs CMD and writes
 * "OWN_KB TREE_KB" to OUTFILE; exits with CMD's status (128+signal if a
 * signal killed it).
 *
 * OWN_KB is CMD's own peak RSS: the largest VmHWM read from
 * /proc/PID/status, polled every 10 ms while CMD runs. VmHWM is the
 * process's high-water mark, so each read covers everything before it; only
 * growth in the last <= 10 ms before CMD exits can be missed (once it is a
 * zombie its memory is gone from /proc).
 *
 * TREE_KB is ru_maxrss from wait4(). The kernel folds in the peaks of every
 * descendant CMD reaped: for `rewind record` and `rewind replay` those are
 * the recorded programs (and replay's checkpoint forks), so it is not
 * rewind's own peak, only an upper bound. getrusage(RUSAGE_CHILDREN) and
 * GNU time's %M report that same number. When OWN_KB < TREE_KB, the
 * difference is a descendant's (or growth in the last poll interval). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long read_hwm(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) { kb = atol(line + 6); break; }
  fclose(f);
  return kb;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: peakrss OUTFILE CMD [ARGS...]\n"); return 2; }
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 2; }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  /* A signal that ends the wrapper (timeout's SIGTERM) goes on to CMD. */
  signal(SIGINT, SIG_IGN);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  long own = 0;
  int status;
  struct rusage ru;
  const struct timespec tick = {0, 10 * 1000 * 1000};
  for (;;) {
    long kb = read_hwm(path);
    if (kb > own) own = kb;
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) { perror("wait4"); return 2; }
    nanosleep(&tick, NULL);
  }
  FILE *out = fopen(argv[1], "w");
  if (!out) { perror(argv[1]); return 2; }
  fprintf(out, "%ld %ld\n", own, ru.ru_maxrss);
  fclose(out);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
