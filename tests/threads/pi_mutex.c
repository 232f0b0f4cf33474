/* Checks priority-inheritance mutexes (PTHREAD_PRIO_INHERIT), which glibc
 * implements with FUTEX_LOCK_PI / FUTEX_UNLOCK_PI / FUTEX_TRYLOCK_PI: 3
 * threads add to a counter under one, and a timed lock on a PI mutex held by
 * another thread times out. Where the kernel refuses PI futexes, the errno is
 * printed instead (and must replay the same). */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#define THREADS 3
#define ADDS 5000 /* every contended lock is a FUTEX_LOCK_PI syscall */

static pthread_mutex_t pi;
static long counter;
static sem_t held, release;

static void *adder(void *arg) {
  for (int i = 0; i < ADDS; i++) {
    CHECK(pthread_mutex_lock(&pi) == 0);
    counter++;
    CHECK(pthread_mutex_unlock(&pi) == 0);
  }
  return NULL;
}

static void *holder(void *arg) {
  CHECK(pthread_mutex_lock(&pi) == 0);
  sem_post(&held);
  sem_wait(&release);
  CHECK(pthread_mutex_unlock(&pi) == 0);
  return NULL;
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  int r = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  printf("setprotocol(PRIO_INHERIT): %s\n", r ? strerrorname_np(r) : "ok");
  r = r ? r : pthread_mutex_init(&pi, &a);
  if (r == 0) r = pthread_mutex_lock(&pi); /* the first lock is where the kernel may say no */
  if (r != 0) {
    printf("PI mutexes unavailable here: %s\n", strerrorname_np(r));
    return 0;
  }
  pthread_mutex_unlock(&pi);

  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, adder, NULL) == 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  printf("counter %ld (expected %d)\n", counter, THREADS * ADDS);
  CHECK(counter == THREADS * ADDS);

  sem_init(&held, 0, 0);
  sem_init(&release, 0, 0);
  pthread_t h;
  CHECK(pthread_create(&h, NULL, holder, NULL) == 0);
  sem_wait(&held);
  r = pthread_mutex_trylock(&pi);
  printf("trylock while held elsewhere: %s\n", strerrorname_np(r));
  CHECK(r == EBUSY);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += 10 * 1000000;
  if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
  r = pthread_mutex_timedlock(&pi, &until);
  printf("timedlock while held elsewhere: %s\n", strerrorname_np(r));
  CHECK(r == ETIMEDOUT);
  sem_post(&release);
  CHECK(pthread_mutex_lock(&pi) == 0); /* blocks (FUTEX_LOCK_PI) until released */
  printf("locked after the holder released it\n");
  pthread_mutex_unlock(&pi);
  pthread_join(h, NULL);
  return 0;
}
