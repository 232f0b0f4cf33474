/* Checks two threads passing a turn back and forth 20000 times with raw
 * futex syscalls on one shared word (no pthread condvar or mutex): each
 * waits with FUTEX_WAIT while the word says it is the other's turn, takes
 * its turn, flips the word and wakes the other with FUTEX_WAKE. (Plain,
 * not _PRIVATE, on both sides: the kernel keys the two kinds differently, so
 * a private wake would miss a shared waiter.)
 *
 * A futex wait that blocks is the hard case for syscall buffering; one that
 * returns EAGAIN at once (the word already changed) is the easy one. How
 * many of each happened depends on the schedule; the replay must return the
 * recorded results, so the counts are printed too. */
#include "../programs/common.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define ROUNDS 20000

static _Atomic int turn; /* 0: main's turn, 1: the peer's */
static long counter;     /* only touched by whoever has the turn */

struct stats {
  long waits_blocked, waits_eagain, waits_eintr, woken;
};

static long futex(_Atomic int *uaddr, int op, int val) {
  return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

/* Plays `me`'s ROUNDS turns. */
static void play(int me, struct stats *st) {
  for (int i = 0; i < ROUNDS; i++) {
    int seen;
    while ((seen = atomic_load(&turn)) != me) {
      long r = futex(&turn, FUTEX_WAIT, seen);
      if (r == 0)
        st->waits_blocked++;
      else if (errno == EAGAIN)
        st->waits_eagain++;
      else if (errno == EINTR)
        st->waits_eintr++;
      else
        CHECK(!"FUTEX_WAIT failed");
    }
    counter++;
    atomic_store(&turn, !me);
    long woke = futex(&turn, FUTEX_WAKE, 1);
    CHECK(woke == 0 || woke == 1);
    st->woken += woke;
  }
}

static struct stats peer_stats;

static void *peer(void *arg) {
  play(1, &peer_stats);
  return NULL;
}

int main(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, peer, NULL) == 0);
  struct stats st = {0};
  play(0, &st);
  CHECK(pthread_join(t, NULL) == 0);
  printf("counter %ld after %d rounds each\n", counter, ROUNDS);
  CHECK(counter == 2 * ROUNDS);
  printf("main: %ld waits blocked, %ld EAGAIN, %ld EINTR, woke %ld (vary)\n", st.waits_blocked,
         st.waits_eagain, st.waits_eintr, st.woken);
  printf("peer: %ld waits blocked, %ld EAGAIN, %ld EINTR, woke %ld (vary)\n", peer_stats.waits_blocked,
         peer_stats.waits_eagain, peer_stats.waits_eintr, peer_stats.woken);
  return 0;
}
