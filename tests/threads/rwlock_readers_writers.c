/* Checks pthread rwlocks: 2 writers rewrite an 8-slot record (all slots equal)
 * under the write lock while 3 readers verify it under the read lock, so a
 * torn record means the lock failed. Uses the writer-preferring kind and
 * tryrdlock/trywrlock; the read/write interleaving varies per run. */
#include "../programs/common.h"
#include <pthread.h>

#define WRITES 3000
#define READS 6000

static pthread_rwlock_t rw;
static pthread_barrier_t start; /* all 5 begin together, so they overlap */
static long record[8];
static long writes_seen_by[3], try_failures;

static void *writer(void *arg) {
  pthread_barrier_wait(&start);
  for (int i = 0; i < WRITES; i++) {
    CHECK(pthread_rwlock_wrlock(&rw) == 0);
    long v = record[0] + 1; /* every write bumps the version by one */
    for (int k = 0; k < 8; k++) record[k] = v;
    pthread_rwlock_unlock(&rw);
  }
  return NULL;
}

static void *reader(void *arg) {
  long id = (long)arg;
  long last = -1;
  pthread_barrier_wait(&start);
  for (int i = 0; i < READS; i++) {
    if (pthread_rwlock_tryrdlock(&rw) != 0) {
      __atomic_fetch_add(&try_failures, 1, __ATOMIC_RELAXED);
      CHECK(pthread_rwlock_rdlock(&rw) == 0);
    }
    for (int k = 1; k < 8; k++) CHECK(record[k] == record[0]);
    CHECK(record[0] >= last); /* versions never go backwards */
    if (record[0] != last) writes_seen_by[id]++;
    last = record[0];
    pthread_rwlock_unlock(&rw);
  }
  return NULL;
}

int main(void) {
  pthread_rwlockattr_t a;
  pthread_rwlockattr_init(&a);
  pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  CHECK(pthread_rwlock_init(&rw, &a) == 0);
  pthread_barrier_init(&start, NULL, 5);
  pthread_t w[2], r[3];
  for (long i = 0; i < 2; i++) CHECK(pthread_create(&w[i], NULL, writer, (void *)i) == 0);
  for (long i = 0; i < 3; i++) CHECK(pthread_create(&r[i], NULL, reader, (void *)i) == 0);
  for (int i = 0; i < 2; i++) pthread_join(w[i], NULL);
  for (int i = 0; i < 3; i++) pthread_join(r[i], NULL);
  printf("final version %ld (expected %d)\n", record[0], 2 * WRITES);
  CHECK(record[0] == 2 * WRITES);
  /* Nobody holds it now: both try forms must succeed. */
  show("trywrlock when free", pthread_rwlock_trywrlock(&rw));
  show("tryrdlock while write-locked (EBUSY=16)", pthread_rwlock_tryrdlock(&rw));
  pthread_rwlock_unlock(&rw);
  for (int i = 0; i < 3; i++) printf("reader %d saw %ld versions (varies)\n", i, writes_seen_by[i]);
  printf("tryrdlock failures %ld (varies)\n", try_failures);
  return 0;
}
