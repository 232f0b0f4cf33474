/* Checks robust mutexes: when the owner thread exits holding one, the kernel
 * walks its robust list and the next locker gets EOWNERDEAD (both a locker
 * already blocked in the lock and a later one). Without
 * pthread_mutex_consistent the mutex becomes ENOTRECOVERABLE. A
 * process-shared robust mutex whose owner process dies, or execs, behaves the
 * same. */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>

static sem_t locked;

static void *die_holding(void *m) {
  CHECK(pthread_mutex_lock(m) == 0);
  sem_post(&locked);
  return NULL; /* exits holding the mutex */
}

static void init_robust(pthread_mutex_t *m, int pshared) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  CHECK(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0);
  CHECK(pthread_mutexattr_setpshared(&a, pshared) == 0);
  CHECK(pthread_mutex_init(m, &a) == 0);
}

int main(void) {
  sem_init(&locked, 0, 0);
  pthread_mutex_t m;
  init_robust(&m, PTHREAD_PROCESS_PRIVATE);
  pthread_t t;

  /* Round 1: main blocks in lock (or finds the owner already gone). */
  CHECK(pthread_create(&t, NULL, die_holding, &m) == 0);
  sem_wait(&locked);
  int r = pthread_mutex_lock(&m);
  printf("lock after owner thread died: %s\n", strerrorname_np(r));
  CHECK(r == EOWNERDEAD);
  CHECK(pthread_mutex_consistent(&m) == 0);
  CHECK(pthread_mutex_unlock(&m) == 0);
  pthread_join(t, NULL);
  r = pthread_mutex_lock(&m);
  printf("lock after consistent+unlock: %s\n", r ? strerrorname_np(r) : "0");
  CHECK(r == 0);
  pthread_mutex_unlock(&m);

  /* Round 2: the owner is joined first; unlock without consistent. */
  CHECK(pthread_create(&t, NULL, die_holding, &m) == 0);
  pthread_join(t, NULL);
  r = pthread_mutex_lock(&m);
  printf("lock after joined owner: %s\n", strerrorname_np(r));
  CHECK(r == EOWNERDEAD);
  pthread_mutex_unlock(&m);
  r = pthread_mutex_lock(&m);
  printf("lock after unlock without consistent: %s\n", strerrorname_np(r));
  CHECK(r == ENOTRECOVERABLE);

  /* Round 3: process-shared, the owner is a child process. */
  pthread_mutex_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(shared != MAP_FAILED);
  init_robust(shared, PTHREAD_PROCESS_SHARED);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    pthread_mutex_lock(shared);
    _exit(0);
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  r = pthread_mutex_lock(shared);
  printf("lock after owner process died: %s\n", strerrorname_np(r));
  CHECK(r == EOWNERDEAD);
  pthread_mutex_consistent(shared);
  pthread_mutex_unlock(shared);

  /* Round 4: the owner process execs while holding it; the kernel walks
   * the robust list at execve too. */
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    pthread_mutex_lock(shared);
    execl("/bin/true", "true", (char *)NULL);
    _exit(127);
  }
  CHECK(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  r = pthread_mutex_lock(shared);
  printf("lock after owner process exec'd: %s\n", strerrorname_np(r));
  CHECK(r == EOWNERDEAD);
  pthread_mutex_consistent(shared);
  pthread_mutex_unlock(shared);
  return 0;
}
