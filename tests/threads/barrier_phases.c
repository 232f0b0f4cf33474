/* Checks pthread barriers: 4 threads run 200 phases; in each phase every
 * thread writes its slot, waits at the barrier, then checks all slots hold
 * this phase's values, and waits again before the next phase. Exactly one
 * thread per wait gets PTHREAD_BARRIER_SERIAL_THREAD; which one varies. */
#include "../programs/common.h"
#include <pthread.h>

#define THREADS 4
#define PHASES 200

static pthread_barrier_t bar;
static long slot[THREADS];
static int serial_count, serial_by[THREADS];

static void wait_at_barrier(int id) {
  int r = pthread_barrier_wait(&bar);
  CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
  if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
    serial_count++; /* only one thread at a time can be serial */
    serial_by[id]++;
  }
}

static void *run(void *arg) {
  int id = (int)(long)arg;
  for (int p = 0; p < PHASES; p++) {
    slot[id] = p * 100 + id;
    wait_at_barrier(id);
    for (int k = 0; k < THREADS; k++) CHECK(slot[k] == p * 100 + k);
    wait_at_barrier(id);
  }
  return NULL;
}

int main(void) {
  CHECK(pthread_barrier_init(&bar, NULL, THREADS) == 0);
  pthread_t t[THREADS];
  for (long i = 1; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, run, (void *)i) == 0);
  run((void *)0);
  for (int i = 1; i < THREADS; i++) pthread_join(t[i], NULL);
  printf("phases %d, serial returns %d (expected %d)\n", PHASES, serial_count, 2 * PHASES);
  CHECK(serial_count == 2 * PHASES);
  for (int i = 0; i < THREADS; i++) printf("thread %d was serial %d times (varies)\n", i, serial_by[i]);
  CHECK(pthread_barrier_destroy(&bar) == 0);
  return 0;
}
