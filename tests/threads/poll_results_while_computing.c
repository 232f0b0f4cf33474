/* One thread waits in poll() on a timerfd that fires every millisecond,
 * while the main thread computes without syscalls, so the recorder preempts
 * it. The kernel stores poll's revents when the timer fires, before the
 * poller's exit stop reaches the recorder, which may be busy preempting the
 * main thread then: its state hash can see revents that the trace records
 * only at the poll's exit, after the preemption, and that replay writes only
 * there. The hash must leave such in-flight results out
 * (core/task/InflightWrites.h), or replay misses the preemption point. */
#include "../programs/common.h"
/* Separate block, so that include sorting keeps this order. */
#include <poll.h>
#include <pthread.h>
#include <sys/timerfd.h>

enum { kTicks = 150 };

static volatile int poller_done;

static void* poller(void* arg) {
  int tfd = *(int*)arg;
  uint64_t ticks = 0;
  int polls = 0;
  while (ticks < kTicks) {
    /* revents is cleared before each call: the kernel's store of POLLIN is
     * a visible change each time. */
    struct pollfd p = {.fd = tfd, .events = POLLIN, .revents = 0};
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
    uint64_t n;
    CHECK(read(tfd, &n, sizeof n) == sizeof n);
    ticks += n;
    polls++;
  }
  poller_done = 1;
  return (void*)(intptr_t)polls;
}

int main(void) {
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  CHECK(tfd >= 0);
  struct itimerspec its = {.it_interval = {0, 1000000}, .it_value = {0, 1000000}};
  CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
  pthread_t p;
  CHECK(pthread_create(&p, NULL, poller, &tfd) == 0);
  /* Computes until the poller is done: no syscalls, only preemptions. */
  unsigned long x = 1, rounds = 0;
  while (!poller_done) x = x * 6364136223846793005ul + ++rounds;
  void* polls;
  CHECK(pthread_join(p, &polls) == 0);
  /* How many polls and rounds varies from run to run; replay must match. */
  printf("%d ticks in %d polls; main computed %lx in %lu rounds\n", kTicks, (int)(intptr_t)polls, x,
         rounds);
  return 0;
}
