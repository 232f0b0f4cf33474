/* Prints, for a few CPU features, whether CPUID reports them ("present") and
 * whether glibc uses them ("active": what its ifunc resolvers, e.g. memcpy's
 * and strlen's, chose from). `rewind record --cpu-features` turns features
 * off through the glibc.cpu.hwcaps tunable, which changes "active" only.
 * Then it runs string functions whose implementation glibc chose by those
 * features, so a replay that chose differently would diverge. */
/* common.h first: it defines _GNU_SOURCE before any system header. */
#include "common.h"
/* Separate block, so that include sorting keeps this order. */
#include <sys/platform/x86.h>

#define FEATURE(name)                                                             \
  printf("%-8s present %d active %d\n", #name, CPU_FEATURE_PRESENT(name) ? 1 : 0, \
         CPU_FEATURE_ACTIVE(name) ? 1 : 0)

int main(void) {
  FEATURE(SSSE3);
  FEATURE(SSE4_1);
  FEATURE(SSE4_2);
  FEATURE(POPCNT);
  FEATURE(XSAVE);
  FEATURE(XSAVEC);
  FEATURE(AVX);
  FEATURE(AVX2);
  FEATURE(FMA);
  FEATURE(F16C);
  FEATURE(BMI1);
  FEATURE(BMI2);
  FEATURE(LZCNT);
  FEATURE(MOVBE);
  FEATURE(ERMS);
  FEATURE(AVX512F);
  FEATURE(AVX512BW);
  FEATURE(AVX512VL);

  static char a[1 << 16], b[1 << 16];
  for (size_t i = 0; i < sizeof a - 1; ++i) a[i] = (char)('a' + i * 7 % 26);
  memcpy(b, a, sizeof a);
  memmove(b + 3, b, sizeof b - 3);
  printf("strlen %zu memchr %td memcmp %d hash %016llx\n", strlen(a),
         (char*)memchr(a, 'z', sizeof a) - a, memcmp(a, b, sizeof a) > 0, fnv1a(b, sizeof b));
  return 0;
}
