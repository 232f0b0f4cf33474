/* A program that debugs its own children with ptrace, as crash reporters,
 * sandboxes, debuggers and test harnesses do (issue 15). rewind is every
 * recorded task's real tracer, so it answers these ptrace calls itself
 * (core/record/RecordPtrace.cc); natively and under rewind the program
 * must see the same stops, statuses, registers and memory:
 *
 *  1. PTRACE_TRACEME and a SIGSTOP; PEEKDATA/POKEDATA, GETREGS, PEEKUSER,
 *     GETSIGINFO; 200 single-steps through raise()'s return (which makes a
 *     syscall) into a loop that makes none; waitid for a stop; PTRACE_CONT
 *     injecting SIGUSR1 into a handler; a SIGUSR2 the tracer suppresses; the
 *     exit status.
 *  2. PTRACE_ATTACH to a child asleep in read(): its SIGSTOP stop, a POKE,
 *     PTRACE_DETACH, and the read it goes back to.
 *  3. PTRACE_TRACEME then execve: the SIGTRAP after the exec.
 *  4. PTRACE_SEIZE with PTRACE_O_TRACEEXEC: the exec event stop and its
 *     event message.
 *  5. PTRACE_SYSCALL with PTRACE_O_TRACESYSGOOD: the stops of a syscall
 *     the tracee makes, and the tracer changing its result at the exit stop.
 *  6. PTRACE_SEIZE with PTRACE_O_TRACEFORK, TRACEVFORK, TRACEVFORKDONE and
 *     TRACEEXIT of a child that forks and vforks: the event stops and their
 *     messages, the new tracees' first stops, and the exits of tracees that
 *     are not the tracer's children (the tracer's wait reports them too).
 *  7. PTRACE_SEIZE of a grandchild, its only tracee: the tracer's wait
 *     reports that process's exit, which only the kernel's ptrace link
 *     tells it of.
 */
#include "common.h"

#include <signal.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

static volatile long poked;
static volatile long attached_flag;
static volatile int got_usr1;
static volatile unsigned long acc;

static void on_usr1(int sig) {
  (void)sig;
  got_usr1 = 1;
}

static int stop_sig_of(pid_t pid) {
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFSTOPPED(st));
  return WSTOPSIG(st);
}

/* Where the gdb test (tests/gdb/ptrace_reverse.gdb) stops the child. */
__attribute__((noinline)) static void child_report(void) {
  printf("child: poked=%#lx usr1=%d acc=%#lx\n", poked, got_usr1, acc);
}

static void traceme_child(void) {
  CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0);
  signal(SIGUSR1, on_usr1);
  raise(SIGSTOP);
  for (int i = 0; i < 2000; ++i) acc = acc * 31 + (unsigned long)i;
  kill(getpid(), SIGUSR2); /* the tracer suppresses it */
  child_report();
  exit(7);
}

static void scenario_traceme(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) traceme_child();
  CHECK(stop_sig_of(pid) == SIGSTOP);
  siginfo_t si;
  CHECK(ptrace(PTRACE_GETSIGINFO, pid, NULL, &si) == 0);
  printf("1: stopped by %s (code %d)\n", sigabbrev_np(si.si_signo), si.si_code > 0 ? 1 : 0);
  errno = 0;
  long was = ptrace(PTRACE_PEEKDATA, pid, (void*)&poked, NULL);
  CHECK(errno == 0);
  CHECK(ptrace(PTRACE_POKEDATA, pid, (void*)&poked, (void*)0x1234567L) == 0);
  long now = ptrace(PTRACE_PEEKDATA, pid, (void*)&poked, NULL);
  printf("1: peek %#lx, poke, peek %#lx\n", was, now);

  struct user_regs_struct regs;
  CHECK(ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0);
  long rip = ptrace(PTRACE_PEEKUSER, pid, (void*)offsetof(struct user_regs_struct, rip), NULL);
  printf("1: GETREGS and PEEKUSER agree on rip: %d\n", (unsigned long)rip == regs.rip);

  int moved = 0, traps = 0;
  unsigned long last = regs.rip;
  for (int i = 0; i < 200; ++i) {
    CHECK(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) == 0);
    traps += stop_sig_of(pid) == SIGTRAP;
    CHECK(ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0);
    moved += regs.rip != last;
    last = regs.rip;
  }
  printf("1: 200 single-steps: %d SIGTRAP stops, rip moved %d times\n", traps, moved);

  /* A waitid for the next stop (SIGUSR1 delivered into its handler, then
   * the SIGUSR2 it sends itself). */
  CHECK(ptrace(PTRACE_CONT, pid, NULL, (void*)(long)SIGUSR1) == 0);
  siginfo_t wi;
  memset(&wi, 0, sizeof wi);
  CHECK(waitid(P_PID, pid, &wi, WSTOPPED | WEXITED) == 0);
  printf("1: waitid: pid ok %d, code %s, status %s\n", wi.si_pid == pid,
         wi.si_code == CLD_TRAPPED ? "CLD_TRAPPED" : "other", sigabbrev_np(wi.si_status));
  CHECK(ptrace(PTRACE_CONT, pid, NULL, NULL) == 0); /* suppress SIGUSR2 */
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  printf("1: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

static void scenario_attach(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char c;
    close(p[1]);
    ssize_t n = read(p[0], &c, 1);
    printf("child2: read %zd byte '%c', flag %ld\n", n, n == 1 ? c : '?', attached_flag);
    exit(3);
  }
  close(p[0]);
  CHECK(ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0);
  CHECK(stop_sig_of(pid) == SIGSTOP);
  siginfo_t si;
  CHECK(ptrace(PTRACE_GETSIGINFO, pid, NULL, &si) == 0);
  printf("2: attached: %s, si_code SI_KERNEL %d\n", sigabbrev_np(si.si_signo),
         si.si_code == SI_KERNEL);
  CHECK(ptrace(PTRACE_POKEDATA, pid, (void*)&attached_flag, (void*)42L) == 0);
  CHECK(ptrace(PTRACE_DETACH, pid, NULL, NULL) == 0);
  CHECK(write(p[1], "x", 1) == 1);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  printf("2: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
  close(p[1]);
}

static void scenario_exec(const char* self) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0);
    execl(self, self, "--exec-child", "3", (char*)NULL);
    _exit(98);
  }
  CHECK(stop_sig_of(pid) == SIGTRAP);
  printf("3: SIGTRAP after the exec\n");
  CHECK(ptrace(PTRACE_CONT, pid, NULL, NULL) == 0);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  printf("3: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

static void scenario_seize_exec(const char* self) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char c;
    close(p[1]);
    CHECK(read(p[0], &c, 1) == 1);
    execl(self, self, "--exec-child", "4", (char*)NULL);
    _exit(98);
  }
  close(p[0]);
  CHECK(ptrace(PTRACE_SEIZE, pid, NULL, (void*)(long)PTRACE_O_TRACEEXEC) == 0);
  CHECK(write(p[1], "x", 1) == 1);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFSTOPPED(st));
  unsigned long msg = 0;
  CHECK(ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg) == 0);
  printf("4: exec event %d, message is its pid %d\n", st >> 8 == (SIGTRAP | PTRACE_EVENT_EXEC << 8),
         msg == (unsigned long)pid);
  CHECK(ptrace(PTRACE_CONT, pid, NULL, NULL) == 0);
  CHECK(waitpid(pid, &st, 0) == pid);
  printf("4: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
  close(p[1]);
}

static void scenario_syscall(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0);
    raise(SIGSTOP);
    /* A syscall the preload library never buffers: its stops come. */
    long r = syscall(SYS_getppid);
    printf("child5: getppid answered %ld\n", r == 4242 ? 4242L : -1L);
    exit(0);
  }
  CHECK(stop_sig_of(pid) == SIGSTOP);
  CHECK(ptrace(PTRACE_SETOPTIONS, pid, NULL, (void*)(long)PTRACE_O_TRACESYSGOOD) == 0);
  int entries = 0, changed = 0;
  for (;;) {
    CHECK(ptrace(PTRACE_SYSCALL, pid, NULL, NULL) == 0);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (WIFEXITED(st)) {
      printf("5: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
      break;
    }
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80));
    struct user_regs_struct regs;
    CHECK(ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0);
    if (regs.orig_rax != SYS_getppid) continue;
    if (regs.rax == (unsigned long)-ENOSYS) {
      ++entries;
    } else {
      regs.rax = 4242;
      CHECK(ptrace(PTRACE_SETREGS, pid, NULL, &regs) == 0);
      ++changed;
    }
  }
  printf("5: getppid entry stops %d, exit stops changed %d\n", entries, changed);
}

static void scenario_fork_events(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char c;
    close(p[1]);
    /* (Its children's SIGCHLDs would be stops too, as many as the kernel
     * does not merge.) */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &chld, NULL) == 0);
    CHECK(read(p[0], &c, 1) == 1);
    pid_t g = fork();
    if (g == 0) _exit(11);
    pid_t v = vfork();
    if (v == 0) {
      execl("/proc/self/exe", "ptrace_child", "--exec-child", "6", (char*)NULL);
      _exit(98);
    }
    int st1, st2;
    CHECK(waitpid(g, &st1, 0) == g && waitpid(v, &st2, 0) == v);
    printf("child6: its children exited %d and %d\n", WEXITSTATUS(st1), WEXITSTATUS(st2));
    exit(6);
  }
  close(p[0]);
  const long opts =
      PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE | PTRACE_O_TRACEEXIT;
  CHECK(ptrace(PTRACE_SEIZE, pid, NULL, (void*)opts) == 0);
  CHECK(write(p[1], "x", 1) == 1);
  int forks = 0, vforks = 0, vfork_dones = 0, first_stops = 0, exit_events = 0, exits = 0;
  int msgs_ok = 0, statuses = 0;
  for (;;) {
    int st;
    pid_t w = waitpid(-1, &st, __WALL);
    CHECK(w > 0);
    if (WIFEXITED(st)) {
      ++exits;
      statuses += WEXITSTATUS(st);
      if (w == pid) break;
      continue;
    }
    CHECK(WIFSTOPPED(st));
    unsigned long msg = 0;
    const int event = st >> 16;
    if (event) CHECK(ptrace(PTRACE_GETEVENTMSG, w, NULL, &msg) == 0);
    switch (event) {
      case PTRACE_EVENT_FORK:
        ++forks;
        msgs_ok += msg > 0;
        break;
      case PTRACE_EVENT_VFORK:
        ++vforks;
        msgs_ok += msg > 0;
        break;
      case PTRACE_EVENT_VFORK_DONE:
        ++vfork_dones;
        msgs_ok += msg > 0;
        break;
      case PTRACE_EVENT_STOP:
        ++first_stops;
        break;
      case PTRACE_EVENT_EXIT:
        ++exit_events;
        msgs_ok += WIFEXITED(msg);
        break;
      default:
        printf("6: unexpected stop %#x\n", st);
        break;
    }
    CHECK(ptrace(PTRACE_CONT, w, NULL, NULL) == 0);
  }
  printf("6: fork %d, vfork %d, vfork done %d, first stops %d, exit events %d, messages ok %d\n",
         forks, vforks, vfork_dones, first_stops, exit_events, msgs_ok);
  printf("6: %d exits reported, statuses sum %d\n", exits, statuses);
  close(p[1]);
}

static void scenario_grandchild(void) {
  int go[2], report[2];
  CHECK(pipe(go) == 0 && pipe(report) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    pid_t g = fork();
    if (g == 0) {
      char c;
      close(go[1]);
      CHECK(read(go[0], &c, 1) == 1);
      _exit(13);
    }
    CHECK(write(report[1], &g, sizeof g) == sizeof g);
    int st;
    CHECK(waitpid(g, &st, 0) == g);
    printf("child7: its child exited %d\n", WEXITSTATUS(st));
    exit(0);
  }
  pid_t g;
  CHECK(read(report[0], &g, sizeof g) == sizeof g);
  CHECK(ptrace(PTRACE_SEIZE, g, NULL, NULL) == 0);
  CHECK(write(go[1], "x", 1) == 1);
  int st;
  CHECK(waitpid(g, &st, __WALL) == g);
  printf("7: the grandchild's exit reported: %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
  CHECK(waitpid(pid, &st, 0) == pid);
  printf("7: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--exec-child") == 0) {
    printf("exec child %s runs\n", argv[2]);
    return 5;
  }
  scenario_traceme();
  scenario_attach();
  scenario_exec(argv[0][0] == '/' ? argv[0] : "/proc/self/exe");
  scenario_seize_exec("/proc/self/exe");
  scenario_syscall();
  scenario_fork_events();
  scenario_grandchild();
  return 0;
}
