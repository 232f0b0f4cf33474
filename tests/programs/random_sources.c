/* Checks randomness: getrandom (plain, GRND_NONBLOCK, and a short
 * request), a read from /dev/urandom, rand() seeded with time and pid, and
 * AT_RANDOM from the auxv. All differ per run; replay must reproduce them. */
#include "common.h"
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <time.h>

static void hex(const char *what, const unsigned char *b, size_t n) {
  printf("%s:", what);
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\n");
}

int main(void) {
  unsigned char buf[32];
  show("getrandom 32", getrandom(buf, sizeof buf, 0));
  hex("  bytes", buf, sizeof buf);
  show("getrandom NONBLOCK 16", getrandom(buf, 16, GRND_NONBLOCK));
  hex("  bytes", buf, 16);
  show("getrandom bad flags", getrandom(buf, 16, 0x4000));

  unsigned char big[4096];
  show("getrandom 4096", getrandom(big, sizeof big, 0));
  printf("  hash %016llx\n", fnv1a(big, sizeof big));

  int fd = open("/dev/urandom", O_RDONLY);
  CHECK(fd >= 0);
  show("read /dev/urandom", read(fd, buf, sizeof buf));
  hex("  bytes", buf, sizeof buf);
  close(fd);

  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  printf("rand:");
  for (int i = 0; i < 8; i++) printf(" %d", rand());
  printf("\n");
  hex("AT_RANDOM", (const unsigned char *)getauxval(AT_RANDOM), 16);
  /* The address of a stack variable varies with ASLR. */
  printf("stack address low bits %#lx\n", (unsigned long)(uintptr_t)buf & 0xffff0);
  return 0;
}
