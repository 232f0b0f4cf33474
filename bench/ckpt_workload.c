/* The workload of bench/checkpoint_bench.sh: about SECONDS (default 60) of
 * mixed work in two threads. A compute thread rewrites a 4 MiB buffer in a
 * syscall-free loop, a few pages at a time, folds it into a shared sum
 * under a mutex and naps 0.2 ms between chunks; the main thread makes syscalls (writes to a file, reads
 * it back, getpid, clock_gettime) every few milliseconds and calls tick()
 * once a second, the breakpoint the reverse-continue measurement stops at. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shared_sum;
static volatile int stop;
static uint64_t buffer[512 * 1024]; /* 4 MiB */
volatile int ticks;

__attribute__((noinline)) void tick(int n) {
  ticks = n;
  __asm__ volatile("" ::: "memory");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void* compute(void* arg) {
  (void)arg;
  uint64_t h = 88172645463325252ull;
  for (uint64_t round = 0; !stop; ++round) {
    for (int i = 0; i < 100000; ++i) {
      h ^= h << 13, h ^= h >> 7, h ^= h << 17;
      buffer[(round * 64 + (h & 4095)) % (sizeof buffer / 8)] = h;
    }
    pthread_mutex_lock(&lock);
    shared_sum += h >> 48;
    pthread_mutex_unlock(&lock);
    // A short sleep between chunks, as a worker waiting for its next job
    // would: the syscall thread gets the CPU without being preempted.
    struct timespec nap = {0, 200000};
    nanosleep(&nap, NULL);
  }
  return NULL;
}

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 60;
  char path[] = "/tmp/ckpt-workload-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  pthread_t th;
  pthread_create(&th, NULL, compute, NULL);
  const double start = now();
  int next_tick = 1;
  uint64_t calls = 0;
  char line[128];
  for (double t = start; t - start < seconds; t = now()) {
    int n = snprintf(line, sizeof line, "%llu %d\n", (unsigned long long)calls, getpid());
    if (write(fd, line, (size_t)n) != n) return 1;
    if (pread(fd, line, 16, 0) < 0) return 1;
    calls++;
    if (t - start >= next_tick) tick(next_tick++);
    struct timespec nap = {0, 2000000};
    nanosleep(&nap, NULL);
  }
  stop = 1;
  pthread_join(th, NULL);
  printf("%llu syscall rounds, %d ticks, sum %llu\n", (unsigned long long)calls, ticks,
         (unsigned long long)shared_sum);
  return 0;
}
