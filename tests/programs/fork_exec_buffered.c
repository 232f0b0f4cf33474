/* Checks fork, vfork and posix_spawn right after bursts of the cheap
 * syscalls that syscall buffering keeps in the tracee (getpid, write to
 * /dev/null, clock_gettime, stat): the buffer holds unflushed records when
 * the process forks, the child starts with a copy of it, and each exec
 * starts a new image (which must set buffering up again, or not at all).
 *
 *   1. 1000-iteration burst, fork; the child bursts again and execs
 *      /proc/self/exe "child", which bursts and prints;
 *   2. burst, fork; the child bursts and execs /bin/true;
 *   3. burst, vfork; the child execs /proc/self/exe "vchild";
 *   4. burst, posix_spawn of /proc/self/exe "spawned".
 * The parent waits for each and prints its status. Each burst's checksum
 * covers the pids and times it saw (times vary; the replay must return the
 * recorded ones). */
#include "common.h"
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int devnull = -1;

/* n rounds of getpid, write(/dev/null), clock_gettime and stat, checking
 * each; returns a checksum of what they returned. */
static unsigned long long burst(int n) {
  if (devnull < 0) CHECK((devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0);
  pid_t pid = getpid();
  unsigned long long h = 0xcbf29ce484222325ull;
  for (int i = 0; i < n; i++) {
    CHECK(getpid() == pid);
    CHECK(write(devnull, &i, sizeof i) == sizeof i);
    struct timespec ts;
    CHECK(clock_gettime(i % 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ts) == 0);
    struct stat st;
    CHECK(stat(i % 3 ? "/" : "/dev/null", &st) == 0);
    unsigned long long v[] = {(unsigned long long)pid, (unsigned long long)ts.tv_nsec,
                              (unsigned long long)st.st_ino};
    h = (h ^ fnv1a(v, sizeof v)) * 0x100000001b3ull;
  }
  return h;
}

static void wait_for(pid_t child, const char *what) {
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  printf("%s: child exited %d\n", what, WEXITSTATUS(status));
}

int main(int argc, char **argv) {
  if (argc == 2) {
    /* A new image, exec'd or spawned by the tests below. */
    unsigned long long h = burst(300);
    printf("  %s image: burst %016llx (vary)\n", argv[1], h);
    return strcmp(argv[1], "child") == 0 ? 7 : strcmp(argv[1], "vchild") == 0 ? 8 : 9;
  }
  char *self_child[] = {"fork_exec_buffered", "child", NULL};
  char *self_vchild[] = {"fork_exec_buffered", "vchild", NULL};
  char *self_spawned[] = {"fork_exec_buffered", "spawned", NULL};
  char *true_argv[] = {"true", NULL};

  printf("1. before fork: burst %016llx (vary)\n", burst(1000));
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    printf("  forked child: burst %016llx (vary)\n", burst(500));
    execv("/proc/self/exe", self_child);
    _exit(120);
  }
  wait_for(child, "1. fork + exec self");

  printf("2. before fork: burst %016llx (vary)\n", burst(1000));
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    burst(500);
    execv("/bin/true", true_argv);
    _exit(121);
  }
  wait_for(child, "2. fork + exec /bin/true");

  printf("3. before vfork: burst %016llx (vary)\n", burst(1000));
  child = vfork();
  CHECK(child >= 0);
  if (child == 0) {
    /* Only exec or _exit in a vfork child. */
    execv("/proc/self/exe", self_vchild);
    _exit(122);
  }
  wait_for(child, "3. vfork + exec self");

  printf("4. before posix_spawn: burst %016llx (vary)\n", burst(1000));
  int err = posix_spawn(&child, "/proc/self/exe", NULL, NULL, self_spawned, environ);
  CHECK(err == 0);
  wait_for(child, "4. posix_spawn self");

  printf("after: burst %016llx (vary)\n", burst(1000));
  return 0;
}
