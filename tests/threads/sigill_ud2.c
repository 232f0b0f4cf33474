/* Checks SIGILL from ud2: the handler gets ILL_ILLOPN with si_addr at the
 * ud2, and resumes after it by adding 2 to RIP in the ucontext; it also
 * bumps RBX so the interrupted code sees a register change. 50 faults in a
 * loop, then one left with siglongjmp from a second thread. */
#include "../programs/common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>

extern char ud2_insn[];
static volatile int ills; /* shared with the handler */
static __thread int jump_mode;
static __thread sigjmp_buf escape;

__attribute__((noinline, noclone)) static long trip(long x) {
  asm volatile(".globl ud2_insn\nud2_insn: ud2" : "+b"(x));
  return x;
}

static void on_ill(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  ills++;
  CHECK(si->si_code == ILL_ILLOPN && si->si_addr == (void *)ud2_insn);
  if (jump_mode) siglongjmp(escape, 1);
  uc->uc_mcontext.gregs[REG_RIP] += 2; /* ud2 is 0f 0b */
  uc->uc_mcontext.gregs[REG_RBX] += 1000;
}

static void *thread(void *arg) {
  jump_mode = 1;
  if (sigsetjmp(escape, 1) == 0) {
    trip(0);
    printf("ud2 returned: must not happen\n");
  } else {
    printf("thread: left the SIGILL handler with siglongjmp\n");
  }
  return NULL;
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_ill, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGILL, &sa, NULL) == 0);
  long sum = 0;
  for (long i = 0; i < 50; i++) sum += trip(i);
  printf("50 ud2 skipped, sum %ld\n", sum);
  CHECK(sum == 50 * 1000 + 49 * 50 / 2 && ills == 50);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, thread, NULL) == 0);
  pthread_join(t, NULL);
  printf("SIGILL handled %d times\n", ills);
  CHECK(ills == 51);
  return 0;
}
