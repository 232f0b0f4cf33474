/* Checks that argv and the environment reach the program intact: prints
 * every argument (with its length, to show embedded spaces and empty ones)
 * and the environment variables that start with REWIND_TEST_. Other tests
 * exec it. */
#include "common.h"

extern char **environ;

int main(int argc, char **argv) {
  printf("argc %d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d] (%zu) '%s'\n", i, strlen(argv[i]), argv[i]);
  int n = 0;
  for (char **e = environ; *e; e++) {
    n++;
    if (strncmp(*e, "REWIND_TEST_", 12) == 0) printf("env %s\n", *e);
  }
  printf("environ has entries: %d\n", n > 0);
  const char *home = getenv("HOME");
  printf("HOME set %d\n", home != NULL);
  return 0;
}
