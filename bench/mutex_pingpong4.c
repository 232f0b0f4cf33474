/* bench: two phases with 4 threads. First each thread adds M (argv[1]) to
 * a counter under one pthread mutex; then the threads pass a turn around a
 * ring R (argv[2]) times through one mutex and a condition variable per
 * thread, so every pass is a futex wake of the next thread and a futex wait
 * of this one. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t my_turn[THREADS];
static pthread_barrier_t phase_done;
static long counter, adds, laps, passes;
static int turn;

static void *worker(void *arg) {
  int me = (int)(long)arg;
  for (long i = 0; i < adds; i++) {
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  pthread_barrier_wait(&phase_done);
  for (long lap = 0; lap < laps; lap++) {
    pthread_mutex_lock(&lock);
    while (turn != me) pthread_cond_wait(&my_turn[me], &lock);
    passes++;
    turn = (me + 1) % THREADS;
    pthread_cond_signal(&my_turn[turn]);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int main(int argc, char **argv) {
  adds = argc > 1 ? atol(argv[1]) : 1000000;
  laps = argc > 2 ? atol(argv[2]) : 5000;
  pthread_barrier_init(&phase_done, NULL, THREADS);
  for (int i = 0; i < THREADS; i++) pthread_cond_init(&my_turn[i], NULL);
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  printf("counter %ld, passes %ld\n", counter, passes);
  return counter == THREADS * adds && passes == THREADS * laps ? 0 : 1;
}
