/* bench: two threads pass a token N (argv[1]) times by spinning on an
 * atomic, with no syscalls: every hand-off needs a forced preemption. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int token;
static long rounds;
static unsigned long spins[2];

static void play(int me) {
  for (long i = 0; i < rounds; i++) {
    while (__atomic_load_n(&token, __ATOMIC_ACQUIRE) != me) {
      spins[me]++;
      __builtin_ia32_pause();
    }
    __atomic_store_n(&token, !me, __ATOMIC_RELEASE);
  }
}

static void *other(void *arg) {
  play(1);
  return arg;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atol(argv[1]) : 100;
  pthread_t t;
  pthread_create(&t, NULL, other, NULL);
  play(0);
  pthread_join(t, NULL);
  printf("hand-offs %ld\n", 2 * rounds);
  return 0;
}
