/* Signals a thread ignores, sent to it while it computes: the main thread
 * sends SIGURG (ignored by default, yet delivered) to a thread deep in a
 * syscall-free loop, twenty times, 10 ms apart. The recorder interrupts the
 * loop to deliver each one and again to let the main thread run, so replay
 * must find a preemption point in the loop while a signal waits to be
 * delivered there; it does so with a stub in the loop, not a breakpoint
 * hit at every iteration (minutes for this loop). The result depends on
 * every iteration, and the loop ends by count, not by time. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

static volatile int done;

static void* compute(void* arg) {
  unsigned long long x = 0x9e3779b97f4a7c15ull, sum = 0;
  for (unsigned long long i = 0; i < 300000000ull; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += x >> 60;
  }
  *(unsigned long long*)arg = sum ^ x;
  done = 1;
  return NULL;
}

int main(void) {
  unsigned long long result = 0;
  pthread_t th;
  CHECK(pthread_create(&th, NULL, compute, &result) == 0);
  int sent = 0;
  for (int k = 0; k < 20 && !done; ++k) {
    CHECK(pthread_kill(th, SIGURG) == 0);
    ++sent;
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  CHECK(pthread_join(th, NULL) == 0);
  printf("result %016llx\n", result);
  printf("sent %s\n", sent > 0 ? "some" : "none");
  return 0;
}
