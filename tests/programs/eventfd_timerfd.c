/* Checks eventfd (counter semantics, EFD_SEMAPHORE, EAGAIN when zero) and
 * timerfd (a 1 ms timer read for its expiration count, timerfd_gettime):
 * replay must return the recorded counters. */
#include "common.h"
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

int main(void) {
  int efd = eventfd(3, EFD_NONBLOCK);
  CHECK(efd >= 0);
  uint64_t v = 4;
  show("eventfd write 4", write(efd, &v, sizeof v));
  v = 0;
  show("eventfd read", read(efd, &v, sizeof v));
  printf("  value %llu\n", (unsigned long long)v);
  show("eventfd read empty", read(efd, &v, sizeof v));

  int sem = eventfd(2, EFD_SEMAPHORE);
  CHECK(sem >= 0);
  CHECK(read(sem, &v, sizeof v) == sizeof v);
  printf("semaphore read -> %llu\n", (unsigned long long)v);

  int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
  CHECK(tfd >= 0);
  struct itimerspec its = {{0, 1000000}, {0, 1000000}};
  show("timerfd_settime 1ms interval", timerfd_settime(tfd, 0, &its, NULL));
  uint64_t expirations = 0;
  show("timerfd read", read(tfd, &expirations, sizeof expirations));
  printf("  expirations %llu\n", (unsigned long long)expirations);
  usleep(3000);
  CHECK(read(tfd, &expirations, sizeof expirations) == sizeof expirations);
  printf("after 3 ms sleep: expirations %llu (varies)\n", (unsigned long long)expirations);
  struct itimerspec cur;
  show("timerfd_gettime", timerfd_gettime(tfd, &cur));
  printf("  interval %ld ns, next in %ld ns\n", cur.it_interval.tv_nsec, cur.it_value.tv_nsec);
  struct pollfd pfd = {tfd, POLLIN, 0};
  printf("poll timerfd -> %d\n", poll(&pfd, 1, 100));
  return 0;
}
