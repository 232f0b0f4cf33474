/* The floor for a ptrace-based recorder: runs PROG under the smallest
 * possible PTRACE_SYSCALL tracer and reports how many syscall stops it saw.
 *
 *   bare_ptrace [-r] PROG [ARG...]
 *
 * The tracer pins itself to one CPU before forking, so tracer and tracee
 * share it, as rewind places them (every stop is then two context switches
 * on that CPU, and no cross-CPU wakeup). Per stop it makes exactly one
 * waitpid and one PTRACE_SYSCALL; with -r also one PTRACE_GETREGS, which a
 * recorder cannot avoid (it records the registers). Signals the tracee gets
 * are passed on. Exit status: the tracee's, or 1 if it was killed.
 * traced_syscall_cost.sh times it around a getpid loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int read_regs = 0, first = 1;
  if (argc > 1 && strcmp(argv[1], "-r") == 0) read_regs = 1, first = 2;
  if (first >= argc) {
    fprintf(stderr, "usage: %s [-r] PROG [ARG...]\n", argv[0]);
    return 2;
  }
  /* The CPU this process runs on now; the child inherits the mask. */
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  if (sched_setaffinity(0, sizeof one, &one) < 0) {
    perror("sched_setaffinity");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) _exit(126);
    raise(SIGSTOP);
    execvp(argv[first], argv + first);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
    fprintf(stderr, "bare_ptrace: the child did not stop\n");
    return 2;
  }
  /* TRACESYSGOOD tells syscall stops (SIGTRAP|0x80) from signals;
   * EXITKILL takes the tracee along if the tracer dies. */
  ptrace(PTRACE_SETOPTIONS, pid, NULL,
         (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
  long stops = 0;
  int sig = 0;
  struct user_regs_struct regs;
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) < 0) {
      perror("PTRACE_SYSCALL");
      return 2;
    }
    sig = 0;
    if (waitpid(pid, &status, 0) != pid) {
      perror("waitpid");
      return 2;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
      ++stops;
      if (read_regs) ptrace(PTRACE_GETREGS, pid, NULL, &regs);
    } else if (WSTOPSIG(status) != SIGTRAP && WSTOPSIG(status) != SIGSTOP) {
      sig = WSTOPSIG(status);
    }
  }
  fprintf(stderr, "bare_ptrace: %ld syscall stops\n", stops);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
