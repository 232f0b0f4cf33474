/* A debugging target (tests/gdb/join.gdb, tests/lldb/linestep_join): 3
 * workers wait at a barrier that main reaches inside join_all(), then add
 * to a counter under a mutex. The line that calls join_all() spans the
 * workers' whole run, and main reached the call right after its last
 * clone, in a stretch that reverse-stepi walks one instruction at a time
 * through that syscall's return. */
#include <pthread.h>
#include <stdio.h>

#define WORKERS 3
#define ADDS 5000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start;
long counter;

__attribute__((noinline)) void add_to_counter(long n) { counter += n; }

static void *worker(void *arg) {
  long n = (long)arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < ADDS; i++) {
    pthread_mutex_lock(&lock);
    add_to_counter(n);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

__attribute__((noinline)) void join_all(pthread_t *t) {
  pthread_barrier_wait(&start);
  for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
}

int main(void) {
  pthread_t t[WORKERS];
  pthread_barrier_init(&start, NULL, WORKERS + 1);
  for (long i = 0; i < WORKERS; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
  join_all(t);
  printf("counter %ld\n", counter);
  return counter == (long)ADDS * (1 + 2 + 3) ? 0 : 1;
}
