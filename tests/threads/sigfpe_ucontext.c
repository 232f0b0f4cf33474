/* Checks SIGFPE from integer division: idiv by zero and INT64_MIN / -1 both
 * raise #DE (FPE_INTDIV). The handler checks si_addr is the idiv and skips it
 * by editing RIP, substituting a quotient in RAX; a later division by zero in
 * plain C is left with siglongjmp, and the handler count is exact. */
#include "../programs/common.h"
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>

extern char div_insn[], div_after[];
static sigjmp_buf escape;
static volatile int fpes, jump_mode; /* shared with the handler */

__attribute__((noinline, noclone)) static long divide(long a, long b) {
  long q;
  asm volatile(".globl div_insn, div_after\n"
               "cqto\n"
               "div_insn: idivq %%rcx\n"
               "div_after:"
               : "=a"(q) : "0"(a), "c"(b) : "rdx");
  return q;
}

static void on_fpe(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  fpes++;
  if (jump_mode) siglongjmp(escape, si->si_code);
  CHECK(si->si_code == FPE_INTDIV && si->si_addr == (void *)div_insn);
  CHECK(uc->uc_mcontext.gregs[REG_RIP] == (greg_t)div_insn);
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)div_after;
  uc->uc_mcontext.gregs[REG_RAX] = 0x7777 + fpes;
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_fpe, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGFPE, &sa, NULL) == 0);
  printf("100 / 7 = %ld\n", divide(100, 7));
  long q = divide(5, 0);
  printf("5 / 0 -> %lx (substituted)\n", q);
  CHECK(q == 0x7778);
  q = divide(INT64_MIN, -1);
  printf("INT64_MIN / -1 -> %lx (substituted)\n", q);
  CHECK(q == 0x7779);
  long sum = 0;
  for (int i = 0; i < 200; i++) sum += divide(i, i % 2); /* 100 faults */
  printf("sum %ld after %d faults\n", sum, fpes);
  CHECK(fpes == 102);

  jump_mode = 1;
  volatile int zero = 0, num = 9;
  int code = sigsetjmp(escape, 1);
  if (code == 0) {
    printf("9 / 0 = %d: must not happen\n", num / zero);
  } else {
    printf("siglongjmp out of the handler with si_code %d (FPE_INTDIV %d)\n", code, FPE_INTDIV);
  }
  CHECK(fpes == 103);
  return 0;
}
