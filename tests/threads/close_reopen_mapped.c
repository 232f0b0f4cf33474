/* A thread closes an fd and opens a mapped file at the same number while
 * another thread writes to that number: the writes change what the mapping
 * shows, so they must be in the trace as such. Under syscall buffering the
 * close and the open are buffered, and the two threads hand the baton to
 * each other through condition variables before the recorder sees them
 * (preload/abi.h, Baton::closed_fds): the writer must not buffer its writes
 * to the reused number meanwhile. */
#define _GNU_SOURCE
#include "../programs/common.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#define ROUNDS 50
#define SWITCH 10 /* the round at which the fd is reused */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn, fd;

static void *writer(void *arg) {
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock);
    while (turn != 1) pthread_cond_wait(&turn_changed, &lock);
    char line[8];
    snprintf(line, sizeof line, "%05d\n", i);
    CHECK(pwrite(fd, line, 6, 6 * i) == 6);
    turn = 0;
    pthread_cond_signal(&turn_changed);
    pthread_mutex_unlock(&lock);
  }
  return arg;
}

int main(void) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char mapped_path[512], other_path[512];
  snprintf(mapped_path, sizeof mapped_path, "%s/close_reopen_mapped.%d", tmp, (int)getpid());
  snprintf(other_path, sizeof other_path, "%s/close_reopen_other.%d", tmp, (int)getpid());
  int f = open(mapped_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(f >= 0 && ftruncate(f, 4096) == 0);
  const char *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0);
  CHECK(map != MAP_FAILED && close(f) == 0);
  fd = open(other_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock);
    while (turn != 0) pthread_cond_wait(&turn_changed, &lock);
    if (i == SWITCH) {
      CHECK(close(fd) == 0);
      fd = open(mapped_path, O_RDWR);
      CHECK(fd >= 0);
    }
    turn = 1;
    pthread_cond_signal(&turn_changed);
    pthread_mutex_unlock(&lock);
  }
  CHECK(pthread_join(t, NULL) == 0);
  /* Rounds SWITCH.. wrote into the mapped file, at their own offsets. */
  printf("the mapping shows %.6s%.6s", map + 6 * SWITCH, map + 6 * (ROUNDS - 1));
  unlink(mapped_path);
  unlink(other_path);
  return 0;
}
