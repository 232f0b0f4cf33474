/* Checks sigaltstack per thread with a real stack overflow: 2 threads with
 * 256 KiB stacks each install their own alternate stack, recurse until they
 * hit the guard page, handle SIGSEGV on the alternate stack (SA_ONSTACK,
 * SS_ONSTACK seen inside) and siglongjmp back out. Afterwards the alternate
 * stack is no longer in use. The overflow depth is printed. */
#include "../programs/common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#define ALT_SIZE (64 * 1024)

static __thread char *alt;
static __thread sigjmp_buf escape;
static __thread volatile int on_alt, onstack_flag;
static __thread long depth;
static long depths[2];

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  char local;
  on_alt = &local >= alt && &local < alt + ALT_SIZE;
  stack_t cur;
  sigaltstack(NULL, &cur);
  onstack_flag = !!(cur.ss_flags & SS_ONSTACK);
  siglongjmp(escape, 1);
}

static volatile long never_reached = 1L << 40; /* the guard page comes first */

__attribute__((noinline)) static long recurse(long n) {
  volatile char frame[512];
  if (n > never_reached) return 0;
  frame[0] = (char)n;
  depth = n;
  return recurse(n + 1) + frame[0]; /* not a tail call: the frame stays */
}

static void *overflow(void *arg) {
  alt = malloc(ALT_SIZE);
  CHECK(alt != NULL);
  stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE};
  CHECK(sigaltstack(&ss, NULL) == 0);
  if (sigsetjmp(escape, 1) == 0) {
    recurse(0);
    printf("recursion returned: must not happen\n");
  }
  stack_t after;
  sigaltstack(NULL, &after);
  depths[(long)arg] = depth;
  return (void *)(long)(on_alt * 100 + onstack_flag * 10 + !!(after.ss_flags & SS_ONSTACK));
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 256 * 1024);
  pthread_t t[2];
  for (long i = 0; i < 2; i++) CHECK(pthread_create(&t[i], &a, overflow, (void *)i) == 0);
  for (int i = 0; i < 2; i++) {
    void *r;
    pthread_join(t[i], &r);
    printf("thread %d: handler on its alt stack %ld, SS_ONSTACK inside %ld, after %ld\n", i,
           (long)r / 100, (long)r / 10 % 10, (long)r % 10);
    printf("thread %d overflowed at depth %ld\n", i, depths[i]);
    CHECK((long)r == 110 && depths[i] > 100);
  }
  return 0;
}
