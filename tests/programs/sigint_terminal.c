/* Run on a terminal by tests/e2e/terminal_sigint.py, which types Ctrl-C
 * twice: the first reaches a SIGINT handler, the second the default action
 * (terminate: exit status 130 from the shell's point of view). */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_int(int sig) { got = 1; }

int main(void) {
  signal(SIGINT, on_int);
  printf("ready 1\n");
  fflush(stdout);
  while (!got) pause();
  printf("got SIGINT in the handler\n");
  signal(SIGINT, SIG_DFL);
  printf("ready 2\n");
  fflush(stdout);
  for (;;) pause();
}
