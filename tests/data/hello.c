/* Compiled by the real.gcc_compile test: gcc -c runs cpp/cc1/as as child
 * processes connected by pipes and temp files. */
#include <stdio.h>

static int square(int x) { return x * x; }

int main(void) {
  for (int i = 0; i < 3; i++) printf("%d squared is %d\n", i, square(i));
  return 0;
}
