/* A debugging target with threads (tests/gdb/threads.gdb): 4 threads take
 * strict turns on a mutex and condvar, and each turn calls bump(), 2000 hits
 * in all. The turns make every hit a thread switch, in a fixed order
 * (0, 1, 2, 3, 0, ...), so the last hit is thread 3's in round 499 and the
 * one before it thread 2's. */
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define ROUNDS 500

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;
long total;
long hits[THREADS];
int last_id = -1;

__attribute__((noinline)) void bump(int id, int round) {
  hits[id]++;
  total += id + 1;
  last_id = id;
  __asm__ volatile("" ::"r"(round) : "memory");
}

static void *worker(void *arg) {
  int id = (int)(long)arg;
  for (int round = 0; round < ROUNDS; round++) {
    pthread_mutex_lock(&lock);
    while (turn != id) pthread_cond_wait(&turn_changed, &lock);
    bump(id, round);
    turn = (turn + 1) % THREADS;
    pthread_cond_broadcast(&turn_changed);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

__attribute__((noinline)) void finished(long sum) { __asm__ volatile("" ::"r"(sum) : "memory"); }

int main(void) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  printf("total %ld\n", total);
  finished(total);
  return 0;
}
