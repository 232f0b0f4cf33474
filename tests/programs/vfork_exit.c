/* Checks vfork + _exit and vfork + execve: the parent is suspended until
 * the child exits or execs, and the child shares its memory meanwhile (a
 * write the child makes before _exit is visible to the parent). */
#include "common.h"
#include <sys/wait.h>

static volatile int shared_marker;

int main(void) {
  shared_marker = 1;
  pid_t child = vfork();
  CHECK(child >= 0);
  if (child == 0) {
    shared_marker = getpid(); /* legal enough for a test: a plain store */
    _exit(3);
  }
  printf("vfork child %d, marker set by child %d\n", child, shared_marker == child);
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("child exit code %d\n", WEXITSTATUS(status));

  child = vfork();
  CHECK(child >= 0);
  if (child == 0) {
    char *argv[] = {"/bin/echo", "echo", "after", "vfork", NULL};
    execv("/bin/echo", argv);
    _exit(127);
  }
  CHECK(waitpid(child, &status, 0) == child);
  printf("exec'd child exit code %d\n", WEXITSTATUS(status));

  child = vfork();
  if (child == 0) {
    char *argv[] = {"missing", NULL};
    execv("/nonexistent/prog", argv);
    _exit(100 + errno % 100);
  }
  CHECK(waitpid(child, &status, 0) == child);
  printf("failed exec child exit code %d\n", WEXITSTATUS(status));
  return 0;
}
