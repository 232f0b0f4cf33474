/* Checks a condition-variable ping-pong: two threads hand a turn back and
 * forth 20,000 times, each waiting in pthread_cond_wait for its turn. Every
 * hand-off is a futex wake of a thread that is (usually) asleep, so replay
 * must order 40,000 blocking waits exactly as recorded. */
#include "../programs/common.h"
#include <pthread.h>

#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;              /* 0: ping's turn, 1: pong's turn */
static unsigned long long trail; /* both threads fold the round number in */
static long waits[2];         /* how often each side actually had to wait */

static void play(int me) {
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock);
    while (turn != me) {
      waits[me]++;
      pthread_cond_wait(&turn_changed, &lock);
    }
    trail = trail * 31 + (unsigned)(i * 2 + me);
    turn = !me;
    pthread_cond_signal(&turn_changed);
    pthread_mutex_unlock(&lock);
  }
}

static void *pong(void *arg) {
  play(1);
  return NULL;
}

int main(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, pong, NULL) == 0);
  play(0);
  CHECK(pthread_join(t, NULL) == 0);
  /* The trail is the same in every correct run: turns strictly alternate. */
  unsigned long long want = 0;
  for (int i = 0; i < ROUNDS; i++) {
    want = want * 31 + (unsigned)(i * 2);
    want = want * 31 + (unsigned)(i * 2 + 1);
  }
  printf("round trips %d, trail %llx\n", ROUNDS, trail);
  CHECK(trail == want);
  printf("waits: ping %ld pong %ld (vary)\n", waits[0], waits[1]);
  return 0;
}
