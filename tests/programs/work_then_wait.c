/* For killed recordings (e2e.killed_recording): two threads compute and
 * print numbered lines, then the program says "ready" and blocks reading
 * stdin, where the test kills the recorder. Everything printed before
 * "ready" must replay from the trace the killed recorder left. */
#include "common.h"
#include <pthread.h>
#include <x86intrin.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long lines;

static void *work(void *arg) {
  const char *who = arg;
  for (int i = 0; i < (int)lines; ++i) {
    volatile unsigned long long x = __rdtsc();
    for (int k = 0; k < 200000; ++k) x = x * 6364136223846793005ull + 1442695040888963407ull;
    pthread_mutex_lock(&lock);
    printf("%s line %d: %llx\n", who, i, (unsigned long long)x);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int main(int argc, char **argv) {
  lines = argc > 1 ? atol(argv[1]) : 20;
  pthread_t t;
  CHECK(pthread_create(&t, NULL, work, "worker") == 0);
  work("main");
  CHECK(pthread_join(t, NULL) == 0);
  printf("ready\n");
  char c;
  ssize_t n = read(0, &c, 1); /* blocks until the test kills the recorder */
  printf("read returned %zd\n", n);
  return 0;
}
