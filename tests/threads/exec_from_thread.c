/* Checks execve from a non-main thread. Stage 1: while main waits in
 * pthread_join and another thread blocks in read(), a secondary thread
 * re-executes this program; the kernel kills the other threads and the
 * exec'ing thread takes over the process id. Stage 2 (the new image) checks
 * it has the same pid, one thread, and tid == pid, then execs /bin/echo from
 * a secondary thread in turn. */
#include "../programs/common.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>

static int fds[2];
static char self[4096];
static char pidarg[32];

static int count_tasks(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

static void *blocked_reader(void *arg) {
  char c;
  read(fds[0], &c, 1); /* never returns: the exec kills this thread */
  printf("reader woke: must not happen\n");
  return NULL;
}

static void *exec_self(void *arg) {
  snprintf(pidarg, sizeof pidarg, "%d", getpid());
  printf("stage 1: thread (tid != pid: %d) execs stage 2\n", (pid_t)syscall(SYS_gettid) != getpid());
  char *argv[] = {"exec_from_thread", "stage2", pidarg, NULL};
  execv(self, argv);
  printf("execv failed: %s\n", strerrorname_np(errno));
  exit(98);
}

static void *exec_echo(void *arg) {
  char *argv[] = {"echo", "stage 3: /bin/echo exec'd from a secondary thread", NULL};
  execv("/bin/echo", argv);
  exit(97);
}

int main(int argc, char **argv) {
  pthread_t t, r;
  if (argc == 3 && strcmp(argv[1], "stage2") == 0) {
    pid_t before = (pid_t)atoi(argv[2]);
    printf("stage 2: same pid %d, tid == pid %d, tasks %d\n", getpid() == before,
           (pid_t)syscall(SYS_gettid) == getpid(), count_tasks());
    CHECK(getpid() == before && count_tasks() == 1);
    CHECK(pthread_create(&t, NULL, exec_echo, NULL) == 0);
    pthread_join(t, NULL);
    return 96; /* unreachable: the exec replaces us */
  }
  CHECK(readlink("/proc/self/exe", self, sizeof self - 1) > 0);
  CHECK(pipe(fds) == 0);
  CHECK(pthread_create(&r, NULL, blocked_reader, NULL) == 0);
  CHECK(pthread_create(&t, NULL, exec_self, NULL) == 0);
  pthread_join(t, NULL);
  printf("stage 1: join returned: must not happen\n");
  return 95;
}
