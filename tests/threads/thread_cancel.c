/* Checks deferred thread cancellation (glibc sends SIGCANCEL with tgkill and
 * the target unwinds at a cancellation point): a thread blocked in read(),
 * one blocked in pthread_cond_wait (its cleanup handler must find the mutex
 * re-acquired), and one that disables cancellation, finishes a step, then
 * re-enables it and reaches pthread_testcancel. Cleanup handlers must run. */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static sem_t started, may_enable;
static int fds[2], cleanups, step_done;

static void cleanup(void *what) {
  __atomic_fetch_add(&cleanups, 1, __ATOMIC_RELAXED);
  if (strcmp(what, "cond") == 0) {
    /* Cancelled in cond_wait: the mutex is held again here. */
    CHECK(pthread_mutex_trylock(&lock) == EBUSY);
    pthread_mutex_unlock(&lock);
  }
}

static void *in_read(void *arg) {
  pthread_cleanup_push(cleanup, "read");
  char c;
  sem_post(&started);
  read(fds[0], &c, 1);
  pthread_cleanup_pop(0);
  return NULL;
}

static void *in_cond_wait(void *arg) {
  pthread_mutex_lock(&lock);
  pthread_cleanup_push(cleanup, "cond");
  sem_post(&started);
  for (;;) pthread_cond_wait(&never, &lock);
  pthread_cleanup_pop(0);
  return NULL;
}

static void *deferred(void *arg) {
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  pthread_cleanup_push(cleanup, "deferred");
  sem_post(&started);
  sem_wait(&may_enable); /* not a cancellation point while disabled */
  step_done = 1;
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
  pthread_testcancel();
  pthread_cleanup_pop(0);
  return NULL;
}

int main(void) {
  CHECK(pipe(fds) == 0);
  sem_init(&started, 0, 0);
  sem_init(&may_enable, 0, 0);
  pthread_t t[3];
  void *(*fn[3])(void *) = {in_read, in_cond_wait, deferred};
  for (int i = 0; i < 3; i++) CHECK(pthread_create(&t[i], NULL, fn[i], NULL) == 0);
  for (int i = 0; i < 3; i++) sem_wait(&started);
  for (int i = 0; i < 3; i++) CHECK(pthread_cancel(t[i]) == 0);
  sem_post(&may_enable);
  for (int i = 0; i < 3; i++) {
    void *r;
    CHECK(pthread_join(t[i], &r) == 0);
    printf("thread %d: %s\n", i, r == PTHREAD_CANCELED ? "cancelled" : "returned");
    CHECK(r == PTHREAD_CANCELED);
  }
  printf("cleanup handlers run %d, deferred thread finished its step %d\n", cleanups, step_done);
  CHECK(cleanups == 3 && step_done == 1);
  return 0;
}
