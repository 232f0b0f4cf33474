/* Checks detached threads: 8 created detached (attribute) and 4 detached
 * after creation (pthread_detach) each do some work and post a semaphore;
 * main waits for all 12 posts (a detached thread's handle may already be
 * gone, so it is never joined). Finally 3 more detached threads block in
 * read() and are killed by main's exit. */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>

static sem_t done;
static unsigned long long results[12];
static int fds[2];

static void *work(void *arg) {
  long id = (long)arg;
  unsigned long long h = fnv1a(&id, sizeof id);
  for (int i = 0; i < 1000; i++) h = h * 6364136223846793005ull + 1442695040888963407ull;
  results[id] = h;
  sem_post(&done);
  return NULL;
}

static void *sleeper(void *arg) {
  char c;
  read(fds[0], &c, 1);
  return NULL;
}

int main(void) {
  CHECK(pipe(fds) == 0);
  sem_init(&done, 0, 0);
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_t t[12];
  for (long i = 0; i < 8; i++) CHECK(pthread_create(&t[i], &a, work, (void *)i) == 0);
  for (long i = 8; i < 12; i++) {
    CHECK(pthread_create(&t[i], NULL, work, (void *)i) == 0);
    CHECK(pthread_detach(t[i]) == 0);
  }
  for (int i = 0; i < 12; i++) sem_wait(&done);
  printf("all 12 detached threads finished, results hash %llx\n", fnv1a(results, sizeof results));

  pthread_t s;
  for (int i = 0; i < 3; i++) CHECK(pthread_create(&s, &a, sleeper, NULL) == 0);
  printf("leaving with 3 detached threads blocked in read\n");
  return 0;
}
