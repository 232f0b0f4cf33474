/* Checks SIGPIPE on a pipe whose read end is closed: it goes to the thread
 * that wrote (a secondary thread here), whose SA_SIGINFO handler runs before
 * write() fails with EPIPE; with SIGPIPE ignored only EPIPE remains; with the
 * default action a forked child dies of SIGPIPE. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static volatile pid_t handler_tid;
static volatile int handler_code;
static int fds[2];

static void on_pipe(int sig, siginfo_t *si, void *ctx) {
  handler_tid = (pid_t)syscall(SYS_gettid);
  handler_code = si->si_code;
}

static void *writer(void *arg) {
  errno = 0;
  ssize_t r = write(fds[1], "x", 1);
  int e = errno;
  printf("thread write -> %zd (%s), handler ran on this thread %d, si_code %d\n", r,
         strerrorname_np(e), handler_tid == (pid_t)syscall(SYS_gettid), handler_code);
  CHECK(r == -1 && e == EPIPE && handler_tid == (pid_t)syscall(SYS_gettid));
  return NULL;
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_pipe, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
  CHECK(pipe(fds) == 0);
  close(fds[0]);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
  pthread_join(t, NULL);

  signal(SIGPIPE, SIG_IGN);
  handler_tid = 0;
  show("write with SIGPIPE ignored", write(fds[1], "y", 1));
  CHECK(handler_tid == 0);

  signal(SIGPIPE, SIG_DFL);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    write(fds[1], "z", 1);
    _exit(0); /* not reached: SIGPIPE kills us */
  }
  int st;
  CHECK(waitpid(c, &st, 0) == c);
  printf("child with default SIGPIPE: signalled %d, signal %d\n", WIFSIGNALED(st), WTERMSIG(st));
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
  return 0;
}
