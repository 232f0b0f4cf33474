/* Checks a process killed by a signal raised in a secondary thread: while
 * main blocks in pthread_join and another thread in read(), a thread sends
 * itself SIGTERM (default action: terminate). The whole process dies with
 * SIGTERM, so the exit status is 128 + 15 = 143, with the lines printed
 * before it intact. */
#include "../programs/common.h"
#include <pthread.h>
#include <signal.h>

static int fds[2];

static void *reader(void *arg) {
  char c;
  read(fds[0], &c, 1);
  printf("reader woke: must not happen\n");
  return NULL;
}

static void *killer(void *arg) {
  printf("killer: raising SIGTERM\n");
  raise(SIGTERM);
  printf("killer: survived SIGTERM: must not happen\n");
  return NULL;
}

int main(void) {
  CHECK(pipe(fds) == 0);
  pthread_t r, k;
  CHECK(pthread_create(&r, NULL, reader, NULL) == 0);
  CHECK(pthread_create(&k, NULL, killer, NULL) == 0);
  pthread_join(k, NULL);
  printf("main: join returned: must not happen\n");
  return 0;
}
