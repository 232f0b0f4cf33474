/* Checks a MAP_SHARED|MAP_ANONYMOUS region shared between a parent and a
 * forked child: the child's writes must be visible to the parent after
 * waitpid, in replay as in recording. */
#include "common.h"
#include <sys/mman.h>
#include <sys/wait.h>

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  unsigned *shared = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(shared != MAP_FAILED);
  unsigned *priv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(priv != MAP_FAILED);
  shared[0] = priv[0] = 1;

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    /* The child's pid varies per run, so the parent's view does too. */
    unsigned pid = (unsigned)getpid();
    for (long i = 1; i < 2 * pg / 4; i++) shared[i] = pid * 2654435761u + (unsigned)i;
    shared[0] = 2;
    priv[0] = 2; /* copy-on-write: the parent must not see this */
    _exit(0);
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("child exited %d\n", WEXITSTATUS(status));
  printf("shared[0] %u priv[0] %u\n", shared[0], priv[0]);
  printf("shared hash %016llx, shared[1] - child pid * k = %u\n",
         fnv1a(shared, 2 * pg), shared[1] - (unsigned)child * 2654435761u);
  return 0;
}
