/* bench: two threads pass a turn back and forth N (argv[1]) times through
 * one mutex and two condition variables: every hand-off blocks in futex. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int turn;
static long rounds;

static void play(int me) {
  for (long i = 0; i < rounds; i++) {
    pthread_mutex_lock(&lock);
    while (turn != me) pthread_cond_wait(&turn_changed[me], &lock);
    turn = !me;
    pthread_cond_signal(&turn_changed[!me]);
    pthread_mutex_unlock(&lock);
  }
}

static void *other(void *arg) {
  play(1);
  return arg;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atol(argv[1]) : 20000;
  pthread_t t;
  pthread_create(&t, NULL, other, NULL);
  play(0);
  pthread_join(t, NULL);
  printf("round trips %ld\n", rounds);
  return 0;
}
