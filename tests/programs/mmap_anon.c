/* Checks anonymous mmap, munmap, mprotect and mremap: replay must return
 * the recorded addresses, so pointers printed here and data written through
 * them match. A write to a PROT_READ page must fault the same way (SIGSEGV
 * caught by a handler that siglongjmps back). */
#include "common.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf env;
static void on_segv(int sig) { siglongjmp(env, sig); }

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(a != MAP_FAILED);
  printf("mmap 4 pages at %p, fresh byte %d\n", (void *)a, a[123]);
  for (long i = 0; i < 4 * pg; i++) a[i] = (char)(i * 7 + (uintptr_t)a);
  printf("filled hash %016llx\n", fnv1a(a, 4 * pg));

  show("munmap page 1", munmap(a + pg, pg));
  show("mprotect page 0 read-only", mprotect(a, pg, PROT_READ));
  struct sigaction sa = {.sa_handler = on_segv};
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(env, 1) == 0) {
    a[0] = 1;
    printf("write to read-only page succeeded?!\n");
  } else {
    printf("write to read-only page -> SIGSEGV caught\n");
  }
  show("mprotect unmapped page", mprotect(a + pg, pg, PROT_READ));

  /* Grow pages 2-3 in place or move them; the new address may differ. */
  char *b = mremap(a + 2 * pg, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
  CHECK(b != MAP_FAILED);
  printf("mremap to 64 pages at %p (moved %d), kept hash %016llx, new tail byte %d\n",
         (void *)b, b != a + 2 * pg, fnv1a(b, 2 * pg), b[60 * pg]);
  char *c = mremap(b, 64 * pg, pg, 0);
  printf("mremap shrink -> %p\n", (void *)c);
  show("mremap grow without MAYMOVE into a hole", (long)mremap(a, pg, 2 * pg, 0) == -1 ? -1 : 0);

  /* A fixed-address mapping over an existing one replaces it. */
  char *d = mmap(c, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED over it -> same %d, byte %d\n", d == c, d[5]);
  show("munmap unaligned", munmap(a + 1, pg));
  show("mmap zero length", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
  return 0;
}
