/* Checks SIGTRAP from int3 in the program itself (a recorder built on
 * ptrace must not mistake it for its own breakpoint): the handler sees RIP
 * just after the int3 and si_code SI_KERNEL, and adds to RAX in the ucontext;
 * 100 traps in a loop. Then raise(SIGTRAP) arrives with SI_TKILL. */
#include "../programs/common.h"
#include <signal.h>
#include <ucontext.h>

extern char int3_after[];
/* volatile: raise() returns after the handler ran, and the compiler must
 * not keep these in registers across it. */
static volatile int traps, last_code;

__attribute__((noinline, noclone)) static long trap(long x) {
  asm volatile(".globl int3_after\nint3\nint3_after:" : "+a"(x));
  return x;
}

static void on_trap(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  traps++;
  last_code = si->si_code;
  if (si->si_code == SI_KERNEL) {
    CHECK(uc->uc_mcontext.gregs[REG_RIP] == (greg_t)int3_after);
    uc->uc_mcontext.gregs[REG_RAX] += 7;
  }
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_trap, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGTRAP, &sa, NULL) == 0);
  long sum = 0;
  for (long i = 0; i < 100; i++) sum += trap(i);
  printf("100 int3 traps, sum %ld, si_code %d (SI_KERNEL %d)\n", sum, last_code, SI_KERNEL);
  CHECK(sum == 100 * 7 + 99 * 100 / 2 && traps == 100 && last_code == SI_KERNEL);
  raise(SIGTRAP);
  printf("raise(SIGTRAP): si_code %d (SI_TKILL %d), traps %d\n", last_code, SI_TKILL, traps);
  CHECK(last_code == SI_TKILL && traps == 101);
  return 0;
}
