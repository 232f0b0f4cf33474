/* The initial process forks a child that blocks for ever reading a pipe
 * whose write end it holds itself, then aborts. Natively the shell returns
 * and the child lives on; `rewind record` records until the child is gone
 * and names it; a Ctrl-C (SIGINT to rewind) then ends the recording
 * (tests/e2e/outlived_recording.sh). Never run it natively but to kill the
 * child. */
#include "common.h"

#include <signal.h>

int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  const pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    char c;
    printf("child %d reads a pipe nobody writes\n", (int)getpid());
    const ssize_t n = read(p[0], &c, 1);
    printf("child read %zd\n", n);  // never
    return 0;
  }
  printf("parent %d aborts\n", (int)getpid());
  abort();
}
