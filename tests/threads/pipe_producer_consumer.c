/* Checks a producer and a consumer thread talking over a pipe: the producer
 * writes 1 MiB of pseudo-random bytes in uneven chunks, the consumer reads
 * until EOF and hashes. The hash is fixed; how the bytes were split across
 * read() calls depends on the schedule and must replay as recorded. */
#include "../programs/common.h"
#include <pthread.h>

#define TOTAL (1 << 20)

static int fds[2];
static unsigned char sent[TOTAL];
static long reads, short_reads;

static void *producer(void *arg) {
  size_t off = 0, chunk = 1;
  while (off < TOTAL) {
    chunk = chunk * 7 % 9001 + 1; /* 1..9001 bytes, no pattern the pipe likes */
    size_t n = chunk < TOTAL - off ? chunk : TOTAL - off;
    ssize_t w = write(fds[1], sent + off, n);
    CHECK(w > 0);
    off += (size_t)w;
  }
  close(fds[1]);
  return NULL;
}

int main(void) {
  unsigned x = 12345;
  for (int i = 0; i < TOTAL; i++) sent[i] = (unsigned char)((x = x * 1103515245 + 12345) >> 16);
  CHECK(pipe(fds) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, producer, NULL) == 0);

  static unsigned char got[TOTAL];
  unsigned char extra; /* after TOTAL bytes only EOF may come */
  size_t off = 0;
  for (;;) {
    size_t room = TOTAL - off < 65536 ? TOTAL - off : 65536;
    ssize_t r = off < TOTAL ? read(fds[0], got + off, room) : read(fds[0], &extra, 1);
    CHECK(r >= 0);
    if (r == 0) break;
    reads++;
    if (r < 65536) short_reads++;
    off += (size_t)r;
    CHECK(off <= TOTAL);
  }
  pthread_join(t, NULL);
  printf("received %zu bytes, hash %llx (sent hash %llx)\n", off, fnv1a(got, off), fnv1a(sent, TOTAL));
  CHECK(off == TOTAL && memcmp(got, sent, TOTAL) == 0);
  printf("read calls %ld, short reads %ld (vary)\n", reads, short_reads);
  return 0;
}
