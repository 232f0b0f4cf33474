/* Checks asynchronous signals arriving while the program makes cheap
 * syscalls as fast as it can: a 1 ms ITIMER_REAL drives a SIGALRM handler
 * that itself makes syscalls (write to a pipe, getpid, clock_gettime),
 * while the main loop spends ~300 ms (by CLOCK_MONOTONIC) on getpid,
 * clock_gettime, a 1-byte read of /dev/zero, a 1-byte write to /dev/null,
 * lseek and fstat. With syscall buffering these are the syscalls the
 * tracee handles itself, so signals land in the middle of buffered syscalls
 * and the handler's own syscalls nest inside them.
 *
 * Each result is checked. How many handler runs there were depends on the
 * recording, and replay must reproduce it, with the bytes the handler wrote
 * (read back in the main loop) and every time value the loop saw. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static int sig_pipe[2];
static pid_t pid;
static volatile sig_atomic_t handler_runs, handler_bad;
static volatile long long handler_time_sum;

/* A handler that needs a deep stack: signals delivered in the middle of a
 * buffered syscall run their handler on the library's own stack, which
 * must be as roomy as a program may expect. */
static void __attribute__((noinline)) deep_stack(int runs) {
  volatile unsigned char deep[96 << 10];
  for (size_t i = 0; i < sizeof deep; i += 4096) deep[i] = (unsigned char)(runs + i);
  if (deep[sizeof deep - 4096] != (unsigned char)(runs + sizeof deep - 4096)) handler_bad++;
}

static void on_alarm(int sig) {
  int saved = errno;
  handler_runs++;
  deep_stack(handler_runs);
  unsigned char b = (unsigned char)(handler_runs * 7);
  /* Non-blocking: a full pipe (it never is) would be EAGAIN, not a hang. */
  if (write(sig_pipe[1], &b, 1) != 1) handler_bad++;
  if (getpid() != pid) handler_bad++;
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) handler_bad++;
  handler_time_sum += ts.tv_nsec % 1000;
  errno = saved;
}

static long long now_ns(void) {
  struct timespec ts;
  CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* A syscall that fails with EINTR is retried (there is no SA_RESTART). */
#define RETRY(call) ({ long r_; do r_ = (call); while (r_ < 0 && errno == EINTR); r_; })

static long eintr_seen;

static unsigned long long drain(unsigned long long h, long *bytes) {
  unsigned char buf[256];
  for (;;) {
    ssize_t r = read(sig_pipe[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) {
      eintr_seen++;
      continue;
    }
    if (r < 0) {
      CHECK(errno == EAGAIN);
      return h;
    }
    CHECK(r > 0);
    *bytes += r;
    h = h * 31 + fnv1a(buf, (size_t)r);
  }
}

int main(void) {
  pid = getpid();
  CHECK(pipe2(sig_pipe, O_NONBLOCK) == 0);
  int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
  CHECK(zero >= 0 && null >= 0);

  struct sigaction sa = {.sa_handler = on_alarm};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  struct itimerval every_ms = {{0, 1000}, {0, 1000}};
  CHECK(setitimer(ITIMER_REAL, &every_ms, NULL) == 0);

  long long start = now_ns(), last = start, time_sum = 0;
  long iterations = 0, drained = 0;
  unsigned long long h = 0;
  while (last - start < 300000000ll) {
    CHECK(getpid() == pid);
    struct timespec ts;
    CHECK(RETRY(clock_gettime(CLOCK_REALTIME, &ts)) == 0);
    time_sum += ts.tv_nsec % 1000;
    unsigned char c = 0xff;
    long r = read(zero, &c, 1);
    if (r < 0 && errno == EINTR) eintr_seen++;
    else CHECK(r == 1 && c == 0);
    r = write(null, "x", 1);
    if (r < 0 && errno == EINTR) eintr_seen++;
    else CHECK(r == 1);
    CHECK(RETRY(lseek(zero, 0, SEEK_SET)) == 0);
    struct stat st;
    CHECK(RETRY(fstat(null, &st)) == 0 && S_ISCHR(st.st_mode));
    if (++iterations % 64 == 0) h = drain(h, &drained);
    long long t = now_ns();
    CHECK(t >= last);
    last = t;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
  h = drain(h, &drained);

  printf("main loop: %ld iterations in %lld ms, time checksum %lld (vary)\n", iterations,
         (last - start) / 1000000, time_sum);
  printf("handler runs %d, bytes read back %ld, checksum %016llx, EINTRs %ld, handler time checksum %lld (vary)\n",
         (int)handler_runs, drained, h, eintr_seen, (long long)handler_time_sum);
  CHECK(handler_bad == 0);
  CHECK(drained == handler_runs);
  CHECK(iterations > 0 && handler_runs > 0);
  return 0;
}
