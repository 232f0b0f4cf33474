/* Checks a thread pool: 4 workers take 600 jobs from a mutex/condvar work
 * queue, hash each job's number, and report back; the main thread waits for
 * all results, then shuts the pool down with a broadcast. The result table is
 * schedule-independent; which worker did how many jobs is not. */
#include "../programs/common.h"
#include <pthread.h>

#define WORKERS 4
#define JOBS 600

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER, all_done = PTHREAD_COND_INITIALIZER;
static int queue[JOBS], head, tail, done, shutting_down;
static unsigned long long result[JOBS];
static int jobs_by[WORKERS];

static unsigned long long job(int n) {
  unsigned long long h = 0;
  for (int i = 0; i <= n % 97; i++) h += fnv1a(&n, sizeof n) ^ (unsigned long long)i;
  return h;
}

static void *worker(void *arg) {
  int id = (int)(long)arg;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (head == tail && !shutting_down) pthread_cond_wait(&work_ready, &lock);
    if (head == tail) break; /* shutting down and nothing left */
    int n = queue[head++];
    pthread_mutex_unlock(&lock);
    unsigned long long r = job(n); /* the work runs without the lock */
    pthread_mutex_lock(&lock);
    result[n] = r;
    jobs_by[id]++;
    if (++done == JOBS) pthread_cond_signal(&all_done);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_t t[WORKERS];
  for (long i = 0; i < WORKERS; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
  /* Submit in batches so workers sleep and wake repeatedly. */
  for (int n = 0; n < JOBS; n++) {
    pthread_mutex_lock(&lock);
    queue[tail++] = n;
    pthread_cond_signal(&work_ready);
    pthread_mutex_unlock(&lock);
  }
  pthread_mutex_lock(&lock);
  while (done < JOBS) pthread_cond_wait(&all_done, &lock);
  shutting_down = 1;
  pthread_cond_broadcast(&work_ready);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);

  for (int n = 0; n < JOBS; n++) CHECK(result[n] == job(n));
  printf("jobs %d, result hash %llx\n", JOBS, fnv1a(result, sizeof result));
  int total = 0;
  for (int i = 0; i < WORKERS; i++) {
    printf("worker %d did %d jobs (varies)\n", i, jobs_by[i]);
    total += jobs_by[i];
  }
  CHECK(total == JOBS);
  return 0;
}
