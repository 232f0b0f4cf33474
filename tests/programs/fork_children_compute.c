/* Two forked children compute at once, with no syscalls, so the recorder
 * preempts them and replay must find those points by state. glibc's fork()
 * is clone(CLONE_CHILD_SETTID | ...): the kernel stores the child's live tid
 * in its struct pthread, and replay has to put the recorded one there, or
 * every preemption point in a child mismatches its memory hash. */
/* common.h first: it defines _GNU_SOURCE before any system header. */
#include "common.h"
/* Separate block, so that include sorting keeps this order. */
#include <sys/wait.h>

int main(void) {
  pid_t kids[2];
  for (int c = 0; c < 2; c++) {
    kids[c] = fork();
    CHECK(kids[c] >= 0);
    if (kids[c] == 0) {
      volatile unsigned long sum = 0;
      for (unsigned long i = 0; i < 60000000ul; i++) sum += i ^ (unsigned long)c;
      printf("child %d sum %lu\n", c, sum);
      _exit(c);
    }
  }
  for (int c = 0; c < 2; c++) {
    int status;
    CHECK(waitpid(kids[c], &status, 0) == kids[c]);
    printf("child %d exited %d\n", c, WEXITSTATUS(status));
  }
  return 0;
}
