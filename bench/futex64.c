/* bench: 64 threads in 32 pairs; each pair passes a turn back and forth
 * ROUNDS times (argv[1], default 5000) with raw futex syscalls: a thread
 * waits (FUTEX_WAIT) until the turn is its own, then hands it over and
 * wakes its partner (FUTEX_WAKE). Each thread makes at least 2 * ROUNDS =
 * 10,000 futex calls (more only after a spurious wake-up); whether a wait
 * sleeps or returns EAGAIN depends on the scheduling.
 *
 * stdout: a line that does not depend on scheduling (it must match the
 * native run) and one with the exact futex call count, which does (it must
 * match between record and replay). */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAIRS 32

static struct {
  _Atomic uint32_t turn;
  char pad[60];
} pairs[PAIRS];
static long rounds;
static _Atomic long futex_calls;
static _Atomic uint64_t checksum;

static long futex(_Atomic uint32_t *addr, int op, uint32_t val) {
  return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static void *player(void *arg) {
  long id = (long)arg;
  _Atomic uint32_t *turn = &pairs[id / 2].turn;
  uint32_t me = id % 2, other = !me;
  long calls = 0;
  uint64_t sum = 0;
  for (long r = 0; r < rounds; r++) {
    /* At least one FUTEX_WAIT a round: it returns at once (EAGAIN) when
     * the turn is already ours, and sleeps until the partner's wake when
     * not. */
    do {
      futex(turn, FUTEX_WAIT_PRIVATE, other);
      calls++;
    } while (atomic_load(turn) != me);
    sum += (uint64_t)r * (id + 1);
    atomic_store(turn, other);
    futex(turn, FUTEX_WAKE_PRIVATE, 1);
    calls++;
  }
  atomic_fetch_add(&futex_calls, calls);
  atomic_fetch_add(&checksum, sum);
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atol(argv[1]) : 5000;
  pthread_t t[2 * PAIRS];
  for (long i = 0; i < 2 * PAIRS; i++)
    if (pthread_create(&t[i], NULL, player, (void *)i)) return 1;
  for (int i = 0; i < 2 * PAIRS; i++) pthread_join(t[i], NULL);
  printf("threads %d rounds %ld checksum %llu\n", 2 * PAIRS, rounds,
         (unsigned long long)checksum);
  printf("futex calls %ld\n", (long)futex_calls);
  return 0;
}
