/* Checks fork with wait4 (and its rusage), waitpid with WNOHANG, and
 * children that exit with different codes or are killed by a signal:
 * replay must return the recorded pids and statuses in the same order. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

int main(void) {
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = fork();
    CHECK(kids[i] >= 0);
    if (kids[i] == 0) {
      printf("child %d: pid %d ppid is parent %d\n", i, getpid(), getppid() != 1);
      if (i == 2) raise(SIGTERM);
      _exit(10 + i);
    }
  }
  printf("parent forked %d %d %d\n", kids[0], kids[1], kids[2]);
  for (int i = 0; i < 3; i++) {
    int status;
    struct rusage ru;
    pid_t p = wait4(kids[i], &status, 0, &ru);
    printf("wait4 -> child %d (match %d) exited %d code %d signaled %d sig %d maxrss>0 %d\n", i,
           p == kids[i], WIFEXITED(status), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0, ru.ru_maxrss > 0);
  }
  show("waitpid no children", waitpid(-1, NULL, 0));

  /* WNOHANG on a child that is still running returns 0. */
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t slow = fork();
  CHECK(slow >= 0);
  if (slow == 0) {
    char c;
    close(p[1]);
    CHECK(read(p[0], &c, 1) == 1);
    _exit(c);
  }
  show("waitpid WNOHANG while running", waitpid(slow, NULL, WNOHANG));
  CHECK(write(p[1], "\x07", 1) == 1);
  int status;
  pid_t got = waitpid(-1, &status, 0);
  printf("waitpid(-1) -> match %d code %d\n", got == slow, WEXITSTATUS(status));
  return 0;
}
