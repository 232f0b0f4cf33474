/* A program for the debugger tests across an exec: it calls before_exec()
 * a few times, then execs argv_env_echo (found next to /proc/self/exe) in
 * the same process, so the debugger must switch images going forwards and
 * back again going backwards. */
#include "common.h"
#include <libgen.h>

volatile long counter;

__attribute__((noinline)) void before_exec(long i) { counter += i; }

int main(void) {
  for (long i = 0; i < 3; i++) before_exec(i);
  char self[4096] = {0};
  CHECK(readlink("/proc/self/exe", self, sizeof self - 1) > 0);
  char target[4200];
  snprintf(target, sizeof target, "%s/argv_env_echo", dirname(self));
  char *argv[] = {"argv_env_echo", "after", "exec", NULL};
  execv(target, argv);
  CHECK(0 && "execv argv_env_echo");
  return 1;
}
