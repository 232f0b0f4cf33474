/* Many cheap syscalls of the kinds the preload library buffers: getpid,
 * clock_gettime, reads of /dev/zero and of a file, writes to /dev/null and
 * to a file, stat, lseek, getdents64; questions about signal handlers and
 * the signal mask between changes to them (all buffered; replay makes the
 * changes again, unless they change nothing); getrlimit, sysinfo,
 * getrusage; and a posix_spawn, whose
 * child asks about every signal's handler on its parent's buffer.
 * e2e/syscallbuf.sh checks that they were buffered (and not with record
 * -n); the record/replay test checks that the results come back in replay. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>

extern char** environ;
static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) {
  (void)sig;
  got_usr1++;
}

// Sets a handler, asks about every signal, and checks
// that the handler is the one replay set too, by raising the signal.
static int signal_questions(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  int ours = 0;
  for (int round = 0; round < 50; round++)
    for (int sig = 1; sig < 32; sig++) {
      CHECK(sigaction(sig, NULL, &old) == 0);
      ours += old.sa_handler == on_usr1;
    }
  // Changes that change nothing are buffered too: the same handler again,
  // SIG_DFL where it is the default already.
  for (int i = 0; i < 20; i++) CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int i = 0; i < 20; i++) CHECK(sigaction(SIGUSR2, &dfl, NULL) == 0);
  sigset_t mask;
  CHECK(sigprocmask(SIG_BLOCK, NULL, &mask) == 0);
  CHECK(!sigismember(&mask, SIGUSR1));
  raise(SIGUSR1);
  CHECK(got_usr1 == 1);
  return ours;
}

int main(void) {
  int zero = open("/dev/zero", O_RDONLY);
  int null = open("/dev/null", O_WRONLY);
  char path[] = "/tmp/rewind-buffered-XXXXXX";
  int file = mkstemp(path);
  CHECK(zero >= 0 && null >= 0 && file >= 0);
  uint64_t sum = 0;
  char buf[64];
  struct timespec ts;
  struct stat st;
  for (int i = 0; i < 2000; i++) {
    sum += (uint64_t)getpid();
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    sum += (uint64_t)ts.tv_nsec;
    CHECK(read(zero, buf, sizeof buf) == sizeof buf && buf[7] == 0);
    CHECK(write(null, "x", 1) == 1);
    CHECK(write(file, &i, sizeof i) == sizeof i);
    CHECK(fstat(file, &st) == 0 && st.st_size == (off_t)((i + 1) * sizeof i));
  }
  CHECK(lseek(file, 0, SEEK_SET) == 0);
  int v, bad = 0;
  for (int i = 0; i < 2000; i++) bad += read(file, &v, sizeof v) != sizeof v || v != i;
  CHECK(bad == 0);
  DIR* d = opendir("/");
  int entries = 0;
  while (readdir(d)) entries++;
  closedir(d);
  unlink(path);
  const int ours = signal_questions();
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0);
  struct sysinfo si;
  CHECK(sysinfo(&si) == 0 && si.procs > 0);
  struct rusage ru;
  CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
  pid_t child;
  char* child_argv[] = {"/bin/true", NULL};
  CHECK(posix_spawn(&child, "/bin/true", NULL, NULL, child_argv, environ) == 0);
  int status;
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("entries %d, sum of pids and times %llu, handler seen %d times, nofile %llu\n", entries,
         (unsigned long long)sum, ours, (unsigned long long)rl.rlim_cur);
  return 0;
}
