/* Checks output from several processes running at once: three children
 * write lines to the shared stdout with yields in between, so the
 * interleaving differs per run natively. Replay must reproduce the recorded
 * interleaving, i.e. the recorded scheduling. */
#include "common.h"
#include <sched.h>
#include <sys/wait.h>

int main(void) {
  pid_t kids[3];
  for (int c = 0; c < 3; c++) {
    kids[c] = fork();
    CHECK(kids[c] >= 0);
    if (kids[c] == 0) {
      volatile unsigned long spin = 0;
      const unsigned long work = (unsigned long)(getpid() % 5 + 1) * 20000;
      for (int line = 0; line < 40; line++) {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "child %d line %d\n", c, line);
        CHECK(write(1, buf, len) == len);
        /* Some user-space work and a yield: places to be preempted. */
        for (unsigned long k = 0; k < work; k++) spin += k;
        if (line % 3 == c) sched_yield();
      }
      _exit(c);
    }
  }
  for (int c = 0; c < 3; c++) {
    int status;
    CHECK(waitpid(kids[c], &status, 0) == kids[c]);
    printf("child %d exited %d\n", c, WEXITSTATUS(status));
  }
  return 0;
}
