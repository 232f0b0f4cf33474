/* Checks timerfd used across threads: one thread blocks in read() on a 5 ms
 * periodic timerfd until it has counted 10 expirations (a read may report
 * several: the split varies), another waits in epoll_wait on a one-shot
 * absolute timerfd, and main reads timerfd_gettime of a disarmed timer. */
#include "../programs/common.h"
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

static int periodic, oneshot;

static void *reader(void *arg) {
  unsigned long long total = 0, reads = 0, n;
  while (total < 10) {
    CHECK(read(periodic, &n, sizeof n) == sizeof n);
    CHECK(n >= 1);
    total += n;
    reads++;
  }
  printf("periodic: %llu expirations in %llu reads (varies)\n", total, reads);
  return NULL;
}

static void *poller(void *arg) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, oneshot, &ev) == 0);
  struct epoll_event out;
  int r = epoll_wait(ep, &out, 1, 5000);
  printf("epoll_wait -> %d, data %u\n", r, out.data.u32);
  CHECK(r == 1 && out.data.u32 == 7);
  unsigned long long n;
  CHECK(read(oneshot, &n, sizeof n) == sizeof n);
  printf("one-shot expired %llu time(s)\n", n);
  CHECK(n == 1);
  close(ep);
  return NULL;
}

int main(void) {
  periodic = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  oneshot = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
  CHECK(periodic >= 0 && oneshot >= 0);
  struct itimerspec every = {{0, 5000000}, {0, 5000000}};
  CHECK(timerfd_settime(periodic, 0, &every, NULL) == 0);
  struct itimerspec at = {{0, 0}, {0, 0}};
  clock_gettime(CLOCK_REALTIME, &at.it_value);
  at.it_value.tv_nsec += 20000000;
  if (at.it_value.tv_nsec >= 1000000000) at.it_value.tv_sec++, at.it_value.tv_nsec -= 1000000000;
  CHECK(timerfd_settime(oneshot, TFD_TIMER_ABSTIME, &at, NULL) == 0);

  pthread_t r, p;
  CHECK(pthread_create(&r, NULL, reader, NULL) == 0);
  CHECK(pthread_create(&p, NULL, poller, NULL) == 0);
  pthread_join(r, NULL);
  pthread_join(p, NULL);

  struct itimerspec off = {{0, 0}, {0, 0}}, cur;
  CHECK(timerfd_settime(periodic, 0, &off, NULL) == 0);
  CHECK(timerfd_gettime(periodic, &cur) == 0);
  printf("disarmed: value %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
  CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
  return 0;
}
