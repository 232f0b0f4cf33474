/* Checks a process killed by SIGSEGV from a null dereference: rewind must
 * report 128+11 = 139 after recording and after replay, with the output
 * before the crash intact. */
#include "common.h"

int main(int argc, char **argv) {
  printf("about to dereference NULL (argc %d)\n", argc);
  fflush(stdout);
  /* volatile, so the compiler cannot drop or reorder the faulting load. */
  volatile int *volatile p = NULL;
  printf("never printed %d\n", *p);
  return 0;
}
