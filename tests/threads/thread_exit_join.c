/* Checks thread exit and join: 8 threads end either by returning or by
 * pthread_exit from a nested call, with distinct values; main joins them in
 * reverse order. pthread_tryjoin_np on a thread still blocked must be EBUSY,
 * and joining an already-finished thread must still yield its value. */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>

static sem_t release;

/* GCC misreads this (pthread_exit never returns) as infinite recursion. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
static void leave_from_deep(long v, int depth) {
  if (depth > 0) leave_from_deep(v, depth - 1);
  pthread_exit((void *)v);
}

static void *body(void *arg) {
  long id = (long)arg;
  if (id % 2) leave_from_deep(id * 1000 + 7, (int)id);
  return (void *)(id * 1000 + 1);
}

static void *blocked(void *arg) {
  sem_wait(&release); /* stays alive until main has tried to join it */
  return (void *)4242;
}

int main(void) {
  sem_init(&release, 0, 0);
  pthread_t t[8], b;
  for (long i = 0; i < 8; i++) CHECK(pthread_create(&t[i], NULL, body, (void *)i) == 0);
  CHECK(pthread_create(&b, NULL, blocked, NULL) == 0);

  void *ret;
  int r = pthread_tryjoin_np(b, &ret);
  printf("tryjoin on blocked thread: %s\n", strerrorname_np(r));
  CHECK(r == EBUSY);
  for (int i = 7; i >= 0; i--) {
    CHECK(pthread_join(t[i], &ret) == 0);
    long want = i * 1000 + (i % 2 ? 7 : 1);
    printf("thread %d returned %ld\n", i, (long)ret);
    CHECK((long)ret == want);
  }
  sem_post(&release);
  CHECK(pthread_join(b, &ret) == 0);
  printf("blocked thread returned %ld\n", (long)ret);
  CHECK((long)ret == 4242);
  /* Joining twice is undefined; joining self is EDEADLK. */
  r = pthread_join(pthread_self(), NULL);
  printf("join self: %s\n", strerrorname_np(r));
  CHECK(r == EDEADLK);
  return 0;
}
