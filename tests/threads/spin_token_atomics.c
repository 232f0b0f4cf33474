/* Checks two threads passing a token 300 round trips by spinning on an
 * atomic, with no syscalls in the spin loops: each waits until the token is
 * its own, folds the round into a shared checksum, and hands the token over.
 * A one-thread-at-a-time recorder must preempt the spinner (it never reaches
 * a syscall) and replay must stop it at the same instruction and state. */
#include "../programs/common.h"
#include <pthread.h>

#define ROUNDS 300

static int token; /* 0: main's turn, 1: the other thread's */
static unsigned long long checksum;
static unsigned long spins[2];

static void play(int me) {
  for (int i = 0; i < ROUNDS; i++) {
    while (__atomic_load_n(&token, __ATOMIC_ACQUIRE) != me) {
      spins[me]++;
      __builtin_ia32_pause();
    }
    checksum = checksum * 1000003 + (unsigned)(2 * i + me);
    __atomic_store_n(&token, !me, __ATOMIC_RELEASE);
  }
}

static void *other(void *arg) {
  play(1);
  return NULL;
}

int main(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, other, NULL) == 0);
  play(0);
  CHECK(pthread_join(t, NULL) == 0);
  unsigned long long want = 0;
  for (int i = 0; i < 2 * ROUNDS; i++) want = want * 1000003 + (unsigned)i;
  printf("round trips %d, checksum %llx\n", ROUNDS, checksum);
  CHECK(checksum == want);
  /* How long each side spun depends on the schedule; replay must agree. */
  printf("spin iterations: main %lu other %lu (vary)\n", spins[0], spins[1]);
  return 0;
}
