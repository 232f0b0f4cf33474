/* For `rewind replay -f PID`: the child calls child_work(7) and exits 3. */
#include "common.h"
#include <sys/wait.h>

__attribute__((noinline)) int child_work(int arg) {
  printf("child %d works on %d\n", getpid(), arg);
  return arg * 2;
}

int main(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) _exit(child_work(7) == 14 ? 3 : 1);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child exited %d\n", WEXITSTATUS(status));
  return 0;
}
