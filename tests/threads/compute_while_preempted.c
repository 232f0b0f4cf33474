/* A worker computes for a long stretch with no syscall while main, which
 * was preempted right after creating it, counts in a loop; then the worker
 * prints how far main's counter got. Each timeslice sample of the worker is
 * a ptrace stop that records nothing, and the recorder once counted such
 * stops as events: after 64 of them it switched to main without recording
 * a preemption, so main's counting ran where the trace did not say and the
 * replayed worker printed another count (this is how sort --parallel
 * diverged). The large, non-zero heap makes each state hash slow, which
 * makes the recorder let the worker compute on for many samples. */
#include "../programs/common.h"  // first: it defines _GNU_SOURCE

#include <pthread.h>
#include <stdatomic.h>

#define HEAP_BYTES (64u << 20)
#define WORK 300000000u

static atomic_ulong counter;
static atomic_int done;
static volatile unsigned long sink;

static void* worker(void* arg) {
  (void)arg;
  unsigned long x = 1;
  for (unsigned i = 0; i < WORK; i++) x = x * 6364136223846793005ul + 1442695040888963407ul;
  sink = x;
  unsigned long seen = atomic_load_explicit(&counter, memory_order_relaxed);
  printf("worker done; main had counted %lu\n", seen);
  atomic_store(&done, 1);
  return NULL;
}

int main(void) {
  char* heap = malloc(HEAP_BYTES);
  CHECK(heap != NULL);
  memset(heap, 0x5a, HEAP_BYTES);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
  while (!atomic_load_explicit(&done, memory_order_relaxed))
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
  CHECK(pthread_join(t, NULL) == 0);
  printf("heap byte %d, checksum %lu\n", heap[HEAP_BYTES / 2], sink & 0xffff);
  free(heap);
  return 0;
}
