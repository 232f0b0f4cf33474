/* Checks exit_group from one thread while two others are in the middle of
 * loops of cheap syscalls (the kind syscall buffering keeps in the tracee):
 * one does getpid, clock_gettime, a 1-byte read of /dev/zero and a write to
 * /dev/null; the other writes to a pipe and reads the bytes back. Neither
 * ever stops by itself; the kernel kills them wherever they are, possibly
 * inside a buffered syscall. The process must end with the exiting thread's
 * status (3) and exactly its output, in the recording and in the replay.
 *
 * The iteration counts the exiting thread saw depend on the schedule; the
 * replay must reproduce them. */
#include "../programs/common.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

static _Atomic long loops[2];
static int zero, null, pipe_fds[2];

static void *syscall_loop(void *arg) {
  pid_t pid = getpid();
  for (;;) {
    CHECK(getpid() == pid);
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    unsigned char c = 1;
    CHECK(read(zero, &c, 1) == 1 && c == 0);
    CHECK(write(null, &ts, sizeof ts) == sizeof ts);
    atomic_fetch_add(&loops[0], 1);
  }
}

static void *pipe_loop(void *arg) {
  unsigned char out[32], in[32];
  for (long i = 0;; i++) {
    for (size_t k = 0; k < sizeof out; k++) out[k] = (unsigned char)(i + k);
    CHECK(write(pipe_fds[1], out, sizeof out) == sizeof out);
    CHECK(read(pipe_fds[0], in, sizeof in) == sizeof in);
    CHECK(memcmp(in, out, sizeof in) == 0);
    atomic_fetch_add(&loops[1], 1);
  }
}

static void *exiter(void *arg) {
  /* Let both loops get going, sleeping (a blocking syscall) in between. */
  struct timespec ms = {0, 1000000};
  int naps = 0;
  while (atomic_load(&loops[0]) < 500 || atomic_load(&loops[1]) < 500) {
    nanosleep(&ms, NULL);
    naps++;
  }
  printf("exiter: loops at %ld and %ld after %d naps (vary); exit_group(3)\n",
         atomic_load(&loops[0]), atomic_load(&loops[1]), naps);
  fflush(stdout);
  syscall(SYS_exit_group, 3);
  return NULL;
}

int main(void) {
  zero = open("/dev/zero", O_RDONLY);
  null = open("/dev/null", O_WRONLY);
  CHECK(zero >= 0 && null >= 0 && pipe(pipe_fds) == 0);
  pthread_t t[3];
  CHECK(pthread_create(&t[0], NULL, syscall_loop, NULL) == 0);
  CHECK(pthread_create(&t[1], NULL, pipe_loop, NULL) == 0);
  CHECK(pthread_create(&t[2], NULL, exiter, NULL) == 0);
  pthread_join(t[2], NULL);
  printf("main: join returned: must not happen\n");
  return 1;
}
