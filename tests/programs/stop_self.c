/* Job control under rewind (tests/e2e/job_control.sh): the program stops
 * itself with SIGSTOP, as a shell's Ctrl-Z or a tracer's startup
 * handshake (strace) stops a process, and must stay stopped until a
 * SIGCONT. A handler counts the SIGCONT it gets. */
#include "common.h"

#include <signal.h>

static volatile int conts;

static void on_cont(int sig) {
  (void)sig;
  ++conts;
}

int main(void) {
  signal(SIGCONT, on_cont);
  printf("stopping\n");
  CHECK(raise(SIGSTOP) == 0);
  printf("continued, SIGCONT handled %d time(s)\n", conts);
  return 0;
}
