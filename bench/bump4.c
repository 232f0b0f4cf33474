/* The debugger benchmark's threaded program: 4 threads call bump() 20,000
 * times each under one mutex, 80,000 calls in all. The workers wait at a
 * barrier that main joins inside join_all(), so the line calling join_all()
 * spans the workers' whole run: thread switches happen within it. main
 * prints which worker made the last call, for the benchmark to check. */
#include <pthread.h>
#include <stdio.h>

#define kThreads 4
#define kPerThread 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start;
volatile long counter, last_who = -1;

__attribute__((noinline)) void bump(long who) {
  counter++;
  last_who = who;
}

static void *worker(void *arg) {
  long who = (long)arg;
  pthread_barrier_wait(&start);
  for (long i = 0; i < kPerThread; i++) {
    pthread_mutex_lock(&lock);
    bump(who);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

__attribute__((noinline)) void join_all(pthread_t *t) {
  pthread_barrier_wait(&start);
  for (int i = 0; i < kThreads; i++) pthread_join(t[i], NULL);
}

int main(void) {
  pthread_t t[kThreads];
  pthread_barrier_init(&start, NULL, kThreads + 1);
  for (long i = 0; i < kThreads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  join_all(t); /* bench: join line */
  printf("counter %ld last %ld\n", counter, last_who); /* bench: after join */
  return counter == kThreads * kPerThread ? 0 : 1;
}
