/* Checks pthread spinlocks: 2 threads add 200,000 each to a counter under a
 * pthread_spinlock_t. A waiter spins in user space with no syscall, so a
 * recorder that runs one thread at a time must preempt a spinner whose lock
 * holder is descheduled, or the recording livelocks. */
#include "../programs/common.h"
#include <pthread.h>

#define ADDS 200000

static pthread_spinlock_t spin;
static long counter;

static void *adder(void *arg) {
  for (int i = 0; i < ADDS; i++) {
    pthread_spin_lock(&spin);
    counter++;
    pthread_spin_unlock(&spin);
  }
  return NULL;
}

int main(void) {
  CHECK(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE) == 0);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, adder, NULL) == 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  printf("counter %ld (expected %d)\n", counter, 2 * ADDS);
  CHECK(counter == 2 * ADDS);
  show("trylock when free", pthread_spin_trylock(&spin));
  printf("trylock when held: %s\n", strerrorname_np(pthread_spin_trylock(&spin)));
  pthread_spin_unlock(&spin);
  return 0;
}
