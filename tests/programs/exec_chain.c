/* Checks a chain of execs in one process: exec_chain N re-execs itself
 * with N-1 until 0, then tries a missing program (ENOENT) and finally execs
 * /bin/echo. The pid stays the same through the chain. */
#include "common.h"

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  printf("exec_chain %d pid %d\n", n, getpid());
  if (n > 0) {
    char next[16];
    snprintf(next, sizeof next, "%d", n - 1);
    char *args[] = {argv[0], next, NULL};
    execv("/proc/self/exe", args);
    CHECK(0 && "execv /proc/self/exe");
  }
  char *missing[] = {"missing", NULL};
  execv("/nonexistent/prog", missing);
  printf("exec of a missing program failed: %s\n", strerrorname_np(errno));
  fflush(stdout);
  char *echo[] = {"echo", "end of chain", NULL};
  execv("/bin/echo", echo);
  CHECK(0 && "execv /bin/echo");
  return 1;
}
