/* bench: N forks (argv[1], default 1000), AT_ONCE (argv[2], default 1) at a
 * time: the parent forks a batch, then waits for each child by pid. Each
 * child exits at once with a status derived from its index; the parent
 * prints how many children it reaped and a checksum of their statuses, so a
 * lost or misreported child shows. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int code(long i) { return (int)((i * 2654435761u) >> 24) & 0xff; }

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000;
  long at_once = argc > 2 ? atol(argv[2]) : 1;
  if (at_once < 1 || at_once > 1000) return 2;
  pid_t pids[1000];
  long reaped = 0, sum = 0, mismatches = 0;
  for (long base = 0; base < n; base += at_once) {
    long k = n - base < at_once ? n - base : at_once;
    for (long j = 0; j < k; j++) {
      pid_t p = fork();
      if (p < 0) { perror("fork"); return 1; }
      if (p == 0) _exit(code(base + j));
      pids[j] = p;
    }
    for (long j = 0; j < k; j++) {
      int st;
      if (waitpid(pids[j], &st, 0) != pids[j]) { perror("waitpid"); return 1; }
      reaped++;
      if (!WIFEXITED(st) || WEXITSTATUS(st) != code(base + j)) mismatches++;
      sum = sum * 31 + WEXITSTATUS(st);
      sum %= 1000000007;
    }
  }
  printf("forks %ld at once %ld reaped %ld checksum %ld mismatches %ld\n", n,
         at_once, reaped, sum, mismatches);
  return mismatches != 0;
}
