/* Checks the process ending by main returning while 4 threads are blocked:
 * two in read() on a pipe, one in pthread_cond_wait, one in sem_wait. The
 * exit status is main's (0) and the blocked threads never print. */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t started, never_posted;
static int fds[2], never;

static void *blocker(void *arg) {
  long kind = (long)arg;
  char c;
  switch (kind) {
  case 0:
  case 1:
    sem_post(&started);
    read(fds[0], &c, 1);
    break;
  case 2:
    pthread_mutex_lock(&lock);
    sem_post(&started);
    while (!never) pthread_cond_wait(&cond, &lock);
    break;
  case 3:
    sem_post(&started);
    sem_wait(&never_posted);
    break;
  }
  printf("blocker %ld woke: must not happen\n", kind);
  return NULL;
}

int main(void) {
  CHECK(pipe(fds) == 0);
  sem_init(&started, 0, 0);
  sem_init(&never_posted, 0, 0);
  pthread_t t[4];
  for (long i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, blocker, (void *)i) == 0);
  for (int i = 0; i < 4; i++) sem_wait(&started);
  /* The cond waiter posts with the mutex held: taking it proves it waits. */
  pthread_mutex_lock(&lock);
  pthread_mutex_unlock(&lock);
  printf("main: 4 threads started, returning from main\n");
  return 0;
}
