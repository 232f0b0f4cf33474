/* For `rewind sources` and `rewind buildid` (tests/e2e/sources.sh): a
 * program whose debug information names two files of its own, this one and
 * src_lines.h. With the argument "dlopen" it also loads libm at run time,
 * so the trace holds a library that no DT_NEEDED names. The sources test
 * also compiles this file itself, with -gdwarf-4, -gz and stripped. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "src_lines.h"

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "dlopen") == 0) {
    void* m = dlopen("libm.so.6", RTLD_NOW);
    if (!m) {
      fprintf(stderr, "dlopen libm.so.6: %s\n", dlerror());
      return 1;
    }
    double (*cbrt_fn)(double) = (double (*)(double))dlsym(m, "cbrt");
    printf("cbrt(27) = %g\n", cbrt_fn ? cbrt_fn(27.0) : -1.0);
  }
  printf("sum = %ld\n", src_lines_sum(argc + 9));
  return 0;
}
