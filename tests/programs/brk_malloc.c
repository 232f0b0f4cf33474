/* Checks brk/sbrk and malloc of small blocks (heap, via brk) and big
 * blocks (mmap'd by glibc above 128 KiB): replay must place them at the
 * recorded addresses, so printed pointer differences and contents match. */
#include "common.h"
#include <malloc.h>

int main(void) {
  /* No stdio until the break is back: the first printf mallocs stdout's
   * buffer from the brk heap, and shrinking the break under malloc's feet
   * makes glibc abort. */
  char *start = sbrk(0);
  char *grown = sbrk(8192);
  CHECK(grown != (void *)-1);
  memset(grown, 0x5a, 8192);
  char *after_grow = sbrk(0);
  CHECK(sbrk(-4096) != (void *)-1);
  char *after_shrink = sbrk(0);
  printf("initial break %p\n", (void *)start);
  printf("sbrk(8192) returned the old break %d, grew by %ld, sbrk(-4096) left %ld\n",
         grown == start, (long)(after_grow - start), (long)(after_shrink - start));

  /* Small blocks come from the brk heap: their layout relative to each
   * other is deterministic, the absolute addresses are not (ASLR). */
  char *small[64];
  unsigned long long h = 0;
  for (int i = 0; i < 64; i++) {
    small[i] = malloc(16 + i * 24);
    CHECK(small[i] != NULL);
    memset(small[i], i, 16 + i * 24);
    h = h * 31 + (unsigned long long)(small[i] - small[0]);
  }
  printf("small blocks at %p, layout hash %llx\n", (void *)small[0], h);
  for (int i = 0; i < 64; i += 2) free(small[i]);

  size_t sizes[] = {200 << 10, 4 << 20, 64 << 20};
  for (int i = 0; i < 3; i++) {
    unsigned char *big = malloc(sizes[i]);
    CHECK(big != NULL);
    unsigned seed = (unsigned)(uintptr_t)big;
    for (size_t j = 0; j < sizes[i]; j += 4096) big[j] = (unsigned char)rand_r(&seed);
    printf("malloc(%zu) at %p, hash %016llx\n", sizes[i], (void *)big, fnv1a(big, sizes[i]));
    big = realloc(big, sizes[i] * 2);
    printf("  realloc x2 at %p, hash of old part %016llx\n", (void *)big, fnv1a(big, sizes[i]));
    free(big);
  }
  char *c = calloc(1 << 20, 1);
  printf("calloc 1 MiB zero hash %016llx\n", fnv1a(c, 1 << 20));
  free(c);
  struct mallinfo2 mi = mallinfo2();
  printf("mallinfo2 arena %zu hblks %zu\n", mi.arena, mi.hblks);
  return 0;
}
