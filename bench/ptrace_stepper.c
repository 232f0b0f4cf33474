/* A tracer and its child, for bench/ptrace_bench.sh: `step N` single-steps
 * the child through N instructions of a loop that makes no syscall (the
 * case a hot loop under a debugger's `stepi` or a tracer's step counter
 * makes); `syscall N` has it make N getppid() calls under PTRACE_SYSCALL,
 * as strace does. Prints what it counted. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned long sink;

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s step|syscall N\n", argv[0]);
    return 2;
  }
  const int stepping = strcmp(argv[1], "step") == 0;
  const long n = atol(argv[2]);
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    if (stepping)
      for (;;) sink = sink * 31 + 7;
    for (long i = 0; i < n; ++i) syscall(SYS_getppid);
    _exit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) return 1;
  long stops = 0;
  if (stepping) {
    for (long i = 0; i < n; ++i) {
      if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 || waitpid(pid, &st, 0) != pid) return 1;
      stops += WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  } else {
    ptrace(PTRACE_SETOPTIONS, pid, NULL, (void*)(long)PTRACE_O_TRACESYSGOOD);
    for (;;) {
      if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) != 0 || waitpid(pid, &st, 0) != pid) return 1;
      if (WIFEXITED(st)) break;
      stops += WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80);
    }
  }
  printf("%s %ld: %ld stops\n", argv[1], n, stops);
  return 0;
}
