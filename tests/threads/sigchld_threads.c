/* Checks SIGCHLD in a threaded process. Phase 1: SIGCHLD is blocked in all
 * threads; a worker thread forks 4 children (exit codes 10..13) and main
 * collects them with sigwaitinfo + waitpid(WNOHANG) (SIGCHLD coalesces, so
 * reaping loops). Phase 2: an SA_SIGINFO handler in main sees CLD_EXITED and
 * the status of a child forked by another thread, while main sigsuspends. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static pid_t kids[4];
static volatile sig_atomic_t handled, handled_status, handled_code;

static void *forker(void *arg) {
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    CHECK(kids[i] >= 0);
    if (kids[i] == 0) _exit(10 + i);
  }
  return NULL;
}

static void on_chld(int sig, siginfo_t *si, void *ctx) {
  handled_status = si->si_status;
  handled_code = si->si_code;
  handled = 1;
}

static void *fork_one(void *arg) {
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) _exit(3);
  return (void *)(long)c;
}

int main(void) {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &old);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, forker, NULL) == 0);
  int reaped = 0, wakeups = 0, code_sum = 0;
  while (reaped < 4) {
    siginfo_t si;
    CHECK(sigwaitinfo(&chld, &si) == SIGCHLD);
    CHECK(si.si_code == CLD_EXITED);
    wakeups++;
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      reaped++;
      code_sum += WEXITSTATUS(st);
      printf("reaped child with code %d\n", WEXITSTATUS(st)); /* order varies */
    }
  }
  pthread_join(t, NULL);
  printf("phase 1: reaped 4, code sum %d, sigwaitinfo wakeups %d (varies)\n", code_sum, wakeups);
  CHECK(code_sum == 10 + 11 + 12 + 13);
  siginfo_t stale;
  struct timespec zero = {0, 0};
  sigtimedwait(&chld, &stale, &zero); /* drop a SIGCHLD left over from phase 1 */

  struct sigaction sa = {.sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_NOCLDSTOP};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
  void *c;
  CHECK(pthread_create(&t, NULL, fork_one, NULL) == 0);
  pthread_join(t, &c);
  while (!handled) sigsuspend(&old);
  printf("phase 2: handler saw si_code %d (CLD_EXITED %d), status %d\n", handled_code, CLD_EXITED, handled_status);
  CHECK(handled_code == CLD_EXITED && handled_status == 3);
  int st;
  CHECK(waitpid((pid_t)(long)c, &st, 0) == (pid_t)(long)c && WEXITSTATUS(st) == 3);
  return 0;
}
