/* Checks a pthread mutex shared by 4 threads: each adds 50,000 to a counter
 * under the lock, so the total must be exact. Under contention glibc falls
 * back to FUTEX_WAIT/FUTEX_WAKE. Which thread finished first, and how often a
 * thread found the lock taken (trylock), depend on the schedule: replay must
 * reproduce both. */
#include "../programs/common.h"
#include <pthread.h>

#define THREADS 4
#define ADDS 50000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static int finish_order[THREADS], finished;
static long busy[THREADS];

static void *adder(void *arg) {
  int id = (int)(long)arg;
  for (int i = 0; i < ADDS; i++) {
    /* Count contention with trylock before blocking in lock. */
    if (pthread_mutex_trylock(&lock) != 0) {
      busy[id]++;
      CHECK(pthread_mutex_lock(&lock) == 0);
    }
    counter++;
    pthread_mutex_unlock(&lock);
  }
  pthread_mutex_lock(&lock);
  finish_order[finished++] = id;
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, adder, (void *)i) == 0);
  for (int i = 0; i < THREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
  printf("counter %ld (expected %d)\n", counter, THREADS * ADDS);
  CHECK(counter == THREADS * ADDS);
  printf("finish order (varies): %d %d %d %d\n", finish_order[0], finish_order[1],
         finish_order[2], finish_order[3]);
  for (int i = 0; i < THREADS; i++) printf("thread %d found the lock busy %ld times (varies)\n", i, busy[i]);
  return 0;
}
