/* Checks a process killed by abort() (SIGABRT): rewind must report
 * 128+6 = 134 after recording and after replay. abort() also unblocks and
 * resets SIGABRT, so its rt_sigprocmask/sigaction calls are replayed too. */
#include "common.h"
#include <signal.h>

static void handler(int sig) {
  /* abort() runs a handler and then kills the process anyway. */
  CHECK(write(2, "SIGABRT handler ran\n", 20) == 20);
}

int main(void) {
  signal(SIGABRT, handler);
  fprintf(stderr, "calling abort from pid %d\n", getpid());
  abort();
}
