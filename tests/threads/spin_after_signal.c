/* A thread signals a condition variable, then spins until the thread it
 * woke answers through an atomic: 20 rounds. Natively the woken thread runs
 * beside the spinner. Under `rewind record` one thread runs at a time, and
 * the woken thread waits for the spinner's baton (preload/abi.h): the
 * recorder must preempt the spinner for it, or the recording never ends. */
#include "../programs/common.h"
#include <pthread.h>
#include <stdatomic.h>

#define ROUNDS 20

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int ready;
static atomic_int ack;

static void *answerer(void *arg) {
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock);
    while (ready <= i) pthread_cond_wait(&go, &lock);
    pthread_mutex_unlock(&lock);
    atomic_store(&ack, i + 1);
  }
  return arg;
}

int main(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, answerer, NULL) == 0);
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock);
    ready = i + 1;
    pthread_cond_signal(&go);
    pthread_mutex_unlock(&lock);
    while (atomic_load(&ack) <= i) {
    }
  }
  CHECK(pthread_join(t, NULL) == 0);
  printf("acks %d\n", atomic_load(&ack));
  return 0;
}
