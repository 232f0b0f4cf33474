/* Checks exit statuses: exits with the code given as argv[1] (0, 1 and 42
 * are registered), printing to both stdout and stderr first. Atexit
 * handlers run and their output is part of the comparison. */
#include "common.h"

static void at_exit(void) { printf("atexit handler ran\n"); }

int main(int argc, char **argv) {
  int code = argc > 1 ? atoi(argv[1]) : 0;
  atexit(at_exit);
  printf("exiting with %d\n", code);
  fprintf(stderr, "stderr: exiting with %d\n", code);
  exit(code);
}
