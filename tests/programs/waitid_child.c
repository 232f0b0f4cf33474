/* Checks waitid: P_PID with WEXITED, WNOWAIT (peek, then reap), P_ALL with
 * WNOHANG when nothing has exited, and a child killed by SIGKILL. Replay
 * must restore the recorded siginfo_t. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

int main(void) {
  pid_t a = fork();
  CHECK(a >= 0);
  if (a == 0) _exit(33);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  show("waitid WNOWAIT", waitid(P_PID, a, &si, WEXITED | WNOWAIT));
  printf("  pid match %d code %d (CLD_EXITED %d) status %d\n", si.si_pid == a, si.si_code,
         CLD_EXITED, si.si_status);
  memset(&si, 0, sizeof si);
  show("waitid reap", waitid(P_PID, a, &si, WEXITED));
  printf("  pid %d status %d uid %d\n", si.si_pid, si.si_status, si.si_uid);

  int p[2];
  CHECK(pipe(p) == 0);
  pid_t b = fork();
  CHECK(b >= 0);
  if (b == 0) {
    char c;
    for (;;) CHECK(read(p[0], &c, 1) >= 0);
  }
  memset(&si, 0, sizeof si);
  show("waitid P_ALL WNOHANG (running)", waitid(P_ALL, 0, &si, WEXITED | WNOHANG));
  printf("  si_pid %d (0 = none ready)\n", si.si_pid);
  kill(b, SIGKILL);
  memset(&si, 0, sizeof si);
  show("waitid killed child", waitid(P_ALL, 0, &si, WEXITED));
  printf("  pid match %d code %d (CLD_KILLED %d) signal %d\n", si.si_pid == b, si.si_code,
         CLD_KILLED, si.si_status);
  show("waitid no children", waitid(P_ALL, 0, &si, WEXITED));
  return 0;
}
