/* Checks thread-local storage: __thread variables (initialised and zeroed)
 * are private to each of 4 threads, which update them in a loop and check
 * that nobody else's writes leak in; pthread key destructors run once per
 * thread at exit. TLS addresses are printed: they depend on the layout of
 * each run, and replay must reproduce them. */
#include "../programs/common.h"
#include <pthread.h>

#define THREADS 4

static __thread long tls_counter = 1000;
static __thread char tls_name[32];
static __thread unsigned long long tls_big[64];
static pthread_key_t key;
static int destructor_calls;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long tls_addr[THREADS + 1];

static void destructor(void *v) {
  pthread_mutex_lock(&lock);
  destructor_calls += (int)(long)v;
  pthread_mutex_unlock(&lock);
}

static void *body(void *arg) {
  int id = (int)(long)arg;
  CHECK(tls_counter == 1000 && tls_name[0] == 0); /* fresh copies of the initial image */
  snprintf(tls_name, sizeof tls_name, "thread-%d", id);
  for (int i = 0; i < 10000; i++) {
    tls_counter += id;
    tls_big[i % 64] += (unsigned long long)i * (unsigned)id;
  }
  CHECK(tls_counter == 1000 + 10000L * id);
  CHECK(strcmp(tls_name, "thread-") > 0 && tls_name[7] == '0' + id);
  pthread_setspecific(key, (void *)1L);
  tls_addr[id] = (long)&tls_counter;
  return (void *)fnv1a(tls_big, sizeof tls_big);
}

int main(void) {
  CHECK(pthread_key_create(&key, destructor) == 0);
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, body, (void *)(i + 1)) == 0);
  for (int i = 0; i < THREADS; i++) {
    void *h;
    pthread_join(t[i], &h);
    printf("thread %d tls hash %llx\n", i + 1, (unsigned long long)(unsigned long)h);
  }
  printf("main's tls_counter still %ld, name '%s'\n", tls_counter, tls_name);
  CHECK(tls_counter == 1000 && tls_name[0] == 0);
  printf("destructor calls %d\n", destructor_calls);
  CHECK(destructor_calls == THREADS);
  printf("main tls at %p; thread offsets from main (vary):", (void *)&tls_counter);
  for (int i = 1; i <= THREADS; i++) printf(" %lx", tls_addr[i] - (long)&tls_counter);
  printf("\n");
  return 0;
}
