/* A program for the reverse-execution tests: a loop in one source line,
 * `for (...) body(i);`, a million iterations without a syscall. At -O1 the
 * line starts with a 3-byte `mov %rbx,%rdi` before the call: a counting
 * patch there covers the call, and the loop closes with a 4-byte add, a
 * 3-byte cmp and a 2-byte jne, none of which a jmp fits alone.
 * Stepping back there must be counted in the tracee, never by an int3 per
 * iteration. Then getpid() twice through libc, which the preload
 * library patches: a breakpoint on it must survive that patching, and a
 * reverse-continue from the second call must find the first (counted by a
 * patch placed before the library's, which that one overwrote). */
#include "common.h"

#include <stdlib.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void body(long i) {
  sink += i;
  sink ^= 1;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  printf("start\n");
  for (long i = 0; i < n; i++) body(i);
  long pid = getpid(); /* after the loop */
  pid += getpid();
  printf("sink %ld pid %d\n", sink, pid > 0);
  return 0;
}
