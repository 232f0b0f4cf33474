/* Checks futex requeue: first pthread_cond_broadcast with 5 waiters parked
 * (counted under the mutex, so all are inside cond_wait), then a raw
 * FUTEX_CMP_REQUEUE that wakes one waiter on word A and moves the rest to
 * word B, woken later by FUTEX_WAKE on B. How many were requeued depends on
 * how many were already asleep; every waiter must come back either way. */
#include "../programs/common.h"
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>

#define WAITERS 5

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER, parked = PTHREAD_COND_INITIALIZER;
static int waiting, released, woken;
static int word_a, word_b, raw_done;

static long futex(int *uaddr, int op, int val, long val2, int *uaddr2, int val3) {
  return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

static void *cond_waiter(void *arg) {
  pthread_mutex_lock(&lock);
  waiting++;
  pthread_cond_signal(&parked);
  while (!released) pthread_cond_wait(&go, &lock);
  woken++;
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void *raw_waiter(void *arg) {
  /* Sleeps on A while it is 0; a requeued waiter wakes from B's queue. */
  while (__atomic_load_n(&word_a, __ATOMIC_ACQUIRE) == 0)
    futex(&word_a, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
  __atomic_fetch_add(&raw_done, 1, __ATOMIC_RELAXED);
  return NULL;
}

int main(void) {
  pthread_t t[WAITERS];
  for (int i = 0; i < WAITERS; i++) CHECK(pthread_create(&t[i], NULL, cond_waiter, NULL) == 0);
  pthread_mutex_lock(&lock);
  while (waiting < WAITERS) pthread_cond_wait(&parked, &lock);
  released = 1;
  pthread_cond_broadcast(&go);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < WAITERS; i++) pthread_join(t[i], NULL);
  printf("broadcast woke %d of %d cond waiters\n", woken, WAITERS);
  CHECK(woken == WAITERS);

  for (int i = 0; i < WAITERS; i++) CHECK(pthread_create(&t[i], NULL, raw_waiter, NULL) == 0);
  /* Wrong expected value: the kernel refuses with EAGAIN. */
  long r = futex(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT_MAX, &word_b, 7);
  show("cmp_requeue with stale value", r);
  r = futex(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT_MAX, &word_b, 0);
  printf("cmp_requeue woke+moved %ld (varies)\n", r);
  CHECK(r >= 0 && r <= WAITERS);
  __atomic_store_n(&word_a, 1, __ATOMIC_RELEASE);
  long on_b = futex(&word_b, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0);
  long on_a = futex(&word_a, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0);
  printf("then woke %ld on B, %ld on A (vary)\n", on_b, on_a);
  for (int i = 0; i < WAITERS; i++) pthread_join(t[i], NULL);
  printf("raw waiters done %d\n", raw_done);
  CHECK(raw_done == WAITERS);
  return 0;
}
