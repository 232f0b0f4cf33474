/* Checks many short-lived threads: 4 waves of 16 threads, each names itself
 * (prctl via pthread_setname_np), reads the name back through /proc
 * (pthread_getname_np on another thread), and returns a value. Thread ids
 * are printed as offsets from the pid: they vary per run and replay must
 * give the recorded ones. */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>

#define WAVE 16
#define WAVES 4

static sem_t named[WAVE], checked[WAVE];
static pid_t tids[WAVE];

static void *body(void *arg) {
  long i = (long)arg;
  char name[16];
  snprintf(name, sizeof name, "worker-%ld", i);
  CHECK(pthread_setname_np(pthread_self(), name) == 0);
  tids[i % WAVE] = (pid_t)syscall(SYS_gettid);
  sem_post(&named[i % WAVE]);
  sem_wait(&checked[i % WAVE]); /* stay alive while main reads our name */
  return (void *)(i * i);
}

int main(void) {
  for (int i = 0; i < WAVE; i++) sem_init(&named[i], 0, 0), sem_init(&checked[i], 0, 0);
  long sum = 0;
  for (int w = 0; w < WAVES; w++) {
    pthread_t t[WAVE];
    for (long i = 0; i < WAVE; i++) CHECK(pthread_create(&t[i], NULL, body, (void *)(w * WAVE + i)) == 0);
    printf("wave %d tids:", w);
    for (int i = 0; i < WAVE; i++) {
      sem_wait(&named[i]);
      char name[16], want[16];
      CHECK(pthread_getname_np(t[i], name, sizeof name) == 0);
      snprintf(want, sizeof want, "worker-%d", w * WAVE + i);
      CHECK(strcmp(name, want) == 0);
      printf(" %d", tids[i] - getpid());
      sem_post(&checked[i]);
    }
    printf("\n");
    for (int i = 0; i < WAVE; i++) {
      void *r;
      pthread_join(t[i], &r);
      sum += (long)r;
    }
  }
  long want = 0;
  for (long i = 0; i < WAVE * WAVES; i++) want += i * i;
  printf("threads %d, sum of returns %ld (expected %ld)\n", WAVE * WAVES, sum, want);
  CHECK(sum == want);
  return 0;
}
