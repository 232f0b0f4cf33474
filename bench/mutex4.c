/* bench: 4 threads each add N (argv[1]) to a counter under one pthread
 * mutex. Contended: glibc goes to FUTEX_WAIT/FUTEX_WAKE. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter, adds;

static void *adder(void *arg) {
  for (long i = 0; i < adds; i++) {
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  return arg;
}

int main(int argc, char **argv) {
  adds = argc > 1 ? atol(argv[1]) : 1000000;
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, adder, NULL);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  printf("counter %ld\n", counter);
  return counter == 4 * adds ? 0 : 1;
}
