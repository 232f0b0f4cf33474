/* A mixed workload for persistent checkpoints: a compute thread that keeps
 * rewriting a buffer (pages that change between checkpoints) beside the
 * main thread's syscalls under a mutex, a forked child that computes and
 * reports through a pipe, a heap that grows and shrinks (brk), a signal
 * handler, and shared anonymous memory written by parent and child.
 * Usage: checkpoint_mix [ROUNDS] (default 40). Each round prints a line. */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t shared_total;
static volatile int stop;
static volatile sig_atomic_t usr1_seen;
static uint64_t buffer[64 * 1024]; /* 512 KiB of .bss the compute thread rewrites */

static void on_usr1(int sig) {
  (void)sig;
  usr1_seen++;
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

static void* compute(void* arg) {
  (void)arg;
  uint64_t h = 1;
  for (int round = 0; !stop; ++round) {
    /* A syscall-free stretch over a few pages, then a locked update. */
    for (int i = 0; i < 200000; ++i) {
      h = mix(h + (uint64_t)i);
      buffer[(h >> 7) % 4096 + (uint64_t)(round % 16) * 4096] = h;
    }
    pthread_mutex_lock(&lock);
    shared_total += h & 0xffff;
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 40;
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  uint64_t* shm = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(shm != MAP_FAILED);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, compute, NULL) == 0);
  for (int r = 0; r < rounds; ++r) {
    char* grow = malloc((size_t)(r % 5 + 1) * 200000); /* brk up and down */
    CHECK(grow != NULL);
    memset(grow, r, (size_t)(r % 5 + 1) * 200000);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
      uint64_t h = (uint64_t)r;
      for (int i = 0; i < 300000; ++i) h = mix(h + (uint64_t)i);
      shm[r % 1024] = h;
      CHECK(write(fds[1], &h, sizeof h) == sizeof h);
      _exit(0);
    }
    close(fds[1]);
    uint64_t got = 0;
    CHECK(read(fds[0], &got, sizeof got) == sizeof got);
    close(fds[0]);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
    raise(SIGUSR1);
    pthread_mutex_lock(&lock);
    uint64_t total = shared_total;
    pthread_mutex_unlock(&lock);
    printf("round %d child %016llx shm %016llx grow %d usr1 %d pid-ok %d\n", r,
           (unsigned long long)got, (unsigned long long)shm[r % 1024], grow[1234],
           (int)usr1_seen, getpid() > 0);
    (void)total;
    free(grow);
  }
  stop = 1;
  CHECK(pthread_join(th, NULL) == 0);
  uint64_t sum = 0;
  for (size_t i = 0; i < sizeof buffer / sizeof buffer[0]; ++i) sum += buffer[i];
  printf("done: buffer %016llx total %llu\n", (unsigned long long)sum,
         (unsigned long long)shared_total);
  return 3;
}
