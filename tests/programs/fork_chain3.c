/* Checks a chain of forks three deep (parent -> child -> grandchild ->
 * great-grandchild), each level waiting for the next and passing its exit
 * code back up with its own added: replay must run every process. */
#include "common.h"
#include <sys/wait.h>

static int level(int depth) {
  printf("depth %d pid %d ppid %d\n", depth, getpid(), getppid());
  if (depth == 3) return 1;
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) _exit(level(depth + 1));
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  int code = WEXITSTATUS(status);
  printf("depth %d: child %d returned %d\n", depth, child, code);
  return code * 2 + 1;
}

int main(void) {
  int result = level(0);
  printf("result %d\n", result);
  return result == 15 ? 0 : 1;
}
