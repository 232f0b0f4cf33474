/* Checks the bitset and timed futex forms glibc uses: pthread_cond_timedwait
 * on a CLOCK_MONOTONIC condvar (FUTEX_WAIT_BITSET) timing out and being
 * signalled, sem_timedwait (CLOCK_REALTIME) and sem_clockwait timing out, and
 * raw FUTEX_WAKE_BITSET: a wake with a non-matching bitset wakes nobody. */
#include "../programs/common.h"
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static int flag, word;

static struct timespec in_ms(clockid_t clk, long ms) {
  struct timespec t;
  clock_gettime(clk, &t);
  t.tv_nsec += ms * 1000000;
  t.tv_sec += t.tv_nsec / 1000000000;
  t.tv_nsec %= 1000000000;
  return t;
}
static long ms_since(struct timespec a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void *signaller(void *arg) {
  pthread_mutex_lock(&lock);
  flag = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void *bitset_waiter(void *arg) {
  while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0)
    syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0x1);
  return NULL;
}

int main(void) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
  CHECK(pthread_cond_init(&cond, &ca) == 0);

  struct timespec start, deadline = in_ms(CLOCK_MONOTONIC, 20);
  clock_gettime(CLOCK_MONOTONIC, &start);
  pthread_mutex_lock(&lock);
  int r = pthread_cond_timedwait(&cond, &lock, &deadline);
  long waited = ms_since(start);
  printf("cond_timedwait with nobody signalling: %s after %ld ms (varies)\n", strerrorname_np(r), waited);
  CHECK(r == ETIMEDOUT && waited >= 19);

  pthread_t t;
  CHECK(pthread_create(&t, NULL, signaller, NULL) == 0);
  deadline = in_ms(CLOCK_MONOTONIC, 10000);
  r = 0;
  while (!flag && r == 0) r = pthread_cond_timedwait(&cond, &lock, &deadline);
  pthread_mutex_unlock(&lock);
  printf("cond_timedwait with a signaller: %s flag %d\n", r ? strerrorname_np(r) : "0", flag);
  CHECK(r == 0 && flag == 1);
  pthread_join(t, NULL);

  sem_t sem;
  sem_init(&sem, 0, 0);
  struct timespec rt = in_ms(CLOCK_REALTIME, 15);
  show("sem_timedwait (realtime, 15 ms)", sem_timedwait(&sem, &rt));
  struct timespec mono = in_ms(CLOCK_MONOTONIC, 15);
  show("sem_clockwait (monotonic, 15 ms)", sem_clockwait(&sem, CLOCK_MONOTONIC, &mono));
  sem_post(&sem);
  show("sem_timedwait after a post", sem_timedwait(&sem, &rt));

  CHECK(pthread_create(&t, NULL, bitset_waiter, NULL) == 0);
  long other = syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x2);
  printf("wake with bitset 0x2 woke %ld\n", other);
  CHECK(other == 0); /* the only waiter waits with bitset 0x1 */
  __atomic_store_n(&word, 1, __ATOMIC_RELEASE);
  long mine = syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x1);
  printf("wake with bitset 0x1 woke %ld (0 or 1: varies)\n", mine);
  pthread_join(t, NULL);
  return 0;
}
