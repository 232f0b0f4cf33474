/* Checks exit() called from a secondary thread (exit_group) while the other
 * threads are blocked: one in read() on a pipe nobody writes, one in
 * pthread_cond_wait, and main in pthread_join. The process must end with the
 * secondary thread's status (5) and its final line flushed; nothing the
 * blocked threads would print may appear. */
#include "../programs/common.h"
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER, ready = PTHREAD_COND_INITIALIZER;
static int fds[2], waiting, reading, never;

static void *reader(void *arg) {
  pthread_mutex_lock(&lock);
  reading = 1;
  pthread_cond_signal(&ready);
  pthread_mutex_unlock(&lock);
  char c;
  ssize_t r = read(fds[0], &c, 1); /* nobody writes: blocks until exit_group */
  printf("reader woke with %zd: must not happen\n", r);
  return NULL;
}

static void *cond_waiter(void *arg) {
  pthread_mutex_lock(&lock);
  waiting = 1;
  pthread_cond_signal(&ready);
  while (!never) pthread_cond_wait(&cond, &lock);
  printf("cond waiter woke: must not happen\n");
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void *exiter(void *arg) {
  pthread_mutex_lock(&lock);
  /* The waiter is certainly in cond_wait once we hold the lock with
   * waiting == 1; the reader is at least about to call read(). */
  while (!waiting || !reading) pthread_cond_wait(&ready, &lock);
  pthread_mutex_unlock(&lock);
  printf("exiter: calling exit(5) with 3 other threads blocked\n");
  exit(5);
}

int main(void) {
  CHECK(pipe(fds) == 0);
  pthread_t r, w, e;
  CHECK(pthread_create(&r, NULL, reader, NULL) == 0);
  CHECK(pthread_create(&w, NULL, cond_waiter, NULL) == 0);
  CHECK(pthread_create(&e, NULL, exiter, NULL) == 0);
  pthread_join(e, NULL);
  printf("main: join returned: must not happen\n");
  return 1;
}
