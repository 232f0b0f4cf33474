// The bundled example for the README: a program whose output differs on
// every run (time, randomness, rdtsc, its pid, a child process), so that a
// replay printing exactly the recorded output shows record/replay at work.
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unsigned int r = 0;
  getrandom(&r, sizeof r, 0);
  printf("hello from pid %d at %ld.%09ld\n", getpid(), (long)ts.tv_sec, ts.tv_nsec);
  printf("random %08x, rdtsc %llu\n", r, (unsigned long long)__rdtsc());
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    printf("child %d says hi\n", getpid());
    exit(7);
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("child exited with %d\n", WEXITSTATUS(status));
  return 0;
}
