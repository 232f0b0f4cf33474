/* Checks read() that blocks on an empty pipe until another thread, after
 * computing a while, writes to it: a ping-pong of 200 rounds over two pipes,
 * each side blocking in turn. With syscall buffering a read that blocks
 * cannot finish inside the tracee: the recorder must notice the thread is
 * blocked, run the writer, and record the bytes the read finally got.
 *
 * Messages are 1..64 bytes read into a 64-byte buffer filled with a marker:
 * the read must return exactly the message's length and leave the bytes
 * after it alone (a buffered read must not copy more than it returned). */
#include "../programs/common.h"
#include <pthread.h>

#define ROUNDS 200
#define MAX_MSG 64
#define MARK 0xa5

static int to_main[2], to_peer[2];

/* A few hundred microseconds of work the compiler cannot fold away. */
static unsigned long long compute(unsigned long long x, int n) {
  for (int i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    __asm__ volatile("" : "+r"(x));
  }
  return x ^ (x >> 29);
}

/* Round i's message: 1..64 bytes (a cheap length, so the reader knows it
 * without redoing the work) of the computed value. */
static size_t msg_len(int i) { return 1 + (size_t)i * 37 % MAX_MSG; }

static size_t message(int round, unsigned long long seed, unsigned char *out) {
  size_t len = msg_len(round);
  for (size_t i = 0; i < len; i++) out[i] = (unsigned char)(seed >> (i % 8 * 8)) ^ (unsigned char)i;
  return len;
}

/* Reads one message into a marked buffer; checks its length and the marker
 * after it. Returns the length. */
static size_t read_message(int fd, unsigned char *buf, size_t want) {
  memset(buf, MARK, MAX_MSG);
  ssize_t r;
  do r = read(fd, buf, MAX_MSG);
  while (r < 0 && errno == EINTR);
  CHECK(r == (ssize_t)want); /* writes of <= PIPE_BUF bytes are atomic */
  for (size_t i = (size_t)r; i < MAX_MSG; i++) CHECK(buf[i] == MARK);
  return (size_t)r;
}

static unsigned long long sent_hash, peer_hash;

static void *peer(void *arg) {
  unsigned char msg[MAX_MSG], buf[MAX_MSG];
  unsigned long long h = 0, sent = 0;
  for (int i = 0; i < ROUNDS; i++) {
    /* The main thread is (almost always) blocked in read() by now. */
    unsigned long long v = compute((unsigned long long)i, 150000 + i * 997 % 100000);
    size_t len = message(i, v, msg);
    sent = sent * 31 + fnv1a(msg, len);
    CHECK(write(to_main[1], msg, len) == (ssize_t)len);
    /* Now block until main answers with the message's bytes reversed. */
    CHECK(read_message(to_peer[0], buf, len) == len);
    for (size_t k = 0; k < len; k++) CHECK(buf[k] == msg[len - 1 - k]);
    h = h * 31 + fnv1a(buf, len);
  }
  sent_hash = sent;
  peer_hash = h;
  return NULL;
}

int main(void) {
  CHECK(pipe(to_main) == 0 && pipe(to_peer) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, peer, NULL) == 0);
  unsigned char buf[MAX_MSG], reply[MAX_MSG];
  unsigned long long h = 0, total = 0;
  for (int i = 0; i < ROUNDS; i++) {
    size_t len = read_message(to_main[0], buf, msg_len(i));
    h = h * 31 + fnv1a(buf, len);
    total += len;
    /* Compute before answering, so the peer's read blocks too. */
    compute(h, 10000);
    for (size_t k = 0; k < len; k++) reply[k] = buf[len - 1 - k];
    CHECK(write(to_peer[1], reply, len) == (ssize_t)len);
  }
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(h == sent_hash);
  printf("%d rounds, %llu bytes each way, checksums %016llx %016llx\n", ROUNDS, total, h, peer_hash);
  return 0;
}
