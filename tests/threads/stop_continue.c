/* Checks the stop and continue default actions: the parent stops a child
 * with SIGSTOP and sees it stopped (WUNTRACED), continues it with SIGCONT and
 * sees that (WCONTINUED), then ends it with SIGTERM (terminate). The child
 * waits in pause() all along and may not run its handler-less loop past a
 * stop: it counts nothing while stopped. */
#include "../programs/common.h"
#include <signal.h>
#include <sys/wait.h>

int main(void) {
  int ready[2];
  CHECK(pipe(ready) == 0);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    CHECK(write(ready[1], "r", 1) == 1);
    for (;;) pause();
  }
  char b;
  CHECK(read(ready[0], &b, 1) == 1);
  int st;
  CHECK(kill(c, SIGSTOP) == 0);
  CHECK(waitpid(c, &st, WUNTRACED) == c);
  printf("stopped %d by %s\n", WIFSTOPPED(st), WIFSTOPPED(st) ? sigabbrev_np(WSTOPSIG(st)) : "-");
  CHECK(kill(c, SIGCONT) == 0);
  CHECK(waitpid(c, &st, WCONTINUED) == c);
  printf("continued %d\n", WIFCONTINUED(st));
  CHECK(kill(c, SIGTERM) == 0);
  CHECK(waitpid(c, &st, 0) == c);
  printf("terminated %d by %s\n", WIFSIGNALED(st), WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
  return 0;
}
