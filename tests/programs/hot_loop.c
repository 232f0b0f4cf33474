// A syscall-free hot loop that calls a function n times (counted
// breakpoints, core/replay/count_test.cc): hot_loop [N [THREADS [MAIN]]].
// With THREADS > 0, thread k (0-based) makes (k+1)*N calls instead, all
// threads at once, and main makes MAIN (default none), after it has
// started them and before it joins them.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

volatile long sink;

// The counted function: i is the loop variable of the caller.
__attribute__((noinline)) void tick(long i) {
  sink += i;
}

static long n = 1000000;

static void* worker(void* arg) {
  const long k = (long)arg;
  for (long i = 0; i < (k + 1) * n; i++) tick(i);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1) n = atol(argv[1]);
  const int threads = argc > 2 ? atoi(argv[2]) : 0;
  const long main_calls = argc > 3 ? atol(argv[3]) : 0;
  printf("tick=%lx n=%ld\n", (unsigned long)&tick, n);
  fflush(stdout);
  if (threads == 0) {
    for (long i = 0; i < n; i++) tick(i);
  } else {
    pthread_t t[16];
    for (long k = 0; k < threads && k < 16; k++) pthread_create(&t[k], NULL, worker, (void*)k);
    for (long i = 0; i < main_calls; i++) tick(-1);
    for (long k = 0; k < threads && k < 16; k++) pthread_join(t[k], NULL);
  }
  printf("sink=%ld\n", (long)sink);
  return 0;
}
