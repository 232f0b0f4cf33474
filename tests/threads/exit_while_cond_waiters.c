/* Checks a thread exiting while others sleep in pthread_cond_wait (futex
 * waits): two waiters park on a condvar, a third thread confirms under the
 * mutex that both are waiting, then pthread_exits without waking them. Main
 * joins the exited thread (a futex wait on its tid, woken by the kernel's
 * clear_child_tid), then wakes the waiters with a broadcast. */
#include "../programs/common.h"
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER, parked = PTHREAD_COND_INITIALIZER;
static int waiting, released, woken;

static void *waiter(void *arg) {
  pthread_mutex_lock(&lock);
  waiting++;
  pthread_cond_signal(&parked);
  while (!released) pthread_cond_wait(&go, &lock);
  woken++;
  pthread_mutex_unlock(&lock);
  return arg;
}

static void *leaver(void *arg) {
  pthread_mutex_lock(&lock);
  /* Holding the mutex with waiting == 2 means both are inside cond_wait. */
  while (waiting < 2) pthread_cond_wait(&parked, &lock);
  pthread_mutex_unlock(&lock);
  printf("leaver: both waiters parked, exiting\n");
  pthread_exit((void *)99);
}

int main(void) {
  pthread_t w[2], l;
  for (long i = 0; i < 2; i++) CHECK(pthread_create(&w[i], NULL, waiter, (void *)(i + 10)) == 0);
  CHECK(pthread_create(&l, NULL, leaver, NULL) == 0);
  void *ret;
  CHECK(pthread_join(l, &ret) == 0);
  printf("leaver joined, returned %ld; woken so far %d\n", (long)ret, woken);
  CHECK((long)ret == 99 && woken == 0);

  pthread_mutex_lock(&lock);
  released = 1;
  pthread_cond_broadcast(&go);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < 2; i++) {
    CHECK(pthread_join(w[i], &ret) == 0);
    printf("waiter %d returned %ld\n", i, (long)ret);
    CHECK((long)ret == i + 10);
  }
  printf("woken %d\n", woken);
  CHECK(woken == 2);
  return 0;
}
