/* Checks SIGCHLD delivered asynchronously while the parent waits in
 * sigsuspend: the handler reaps children with waitpid(WNOHANG) as they exit
 * (in a per-run order), and the parent prints the order it saw. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t reaped;
static pid_t order[8];
static int codes[8];

static void on_chld(int sig) {
  int status;
  pid_t p;
  while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
    order[reaped] = p;
    codes[reaped] = WEXITSTATUS(status);
    reaped++;
  }
}

int main(void) {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, NULL);

  pid_t kids[4];
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    CHECK(kids[i] >= 0);
    if (kids[i] == 0) {
      /* Uneven, slightly random work so exit order varies between runs. */
      usleep((useconds_t)(500 + (getpid() % 7) * 300));
      _exit(20 + i);
    }
  }
  int wakeups = 0;
  while (reaped < 4) {
    sigsuspend(&old); /* returns -1/EINTR after a handler ran */
    wakeups++;
  }
  printf("all reaped after %d wakeups (varies)\n", wakeups);
  for (int i = 0; i < 4; i++) {
    int which = -1;
    for (int k = 0; k < 4; k++)
      if (kids[k] == order[i]) which = k;
    printf("reaped #%d: child %d exit code %d\n", i, which, codes[i]);
  }
  return 0;
}
