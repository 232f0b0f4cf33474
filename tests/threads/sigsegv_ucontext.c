/* Checks SIGSEGV with an SA_SIGINFO handler that reads and edits the
 * ucontext: a load from an unmapped page (SEGV_MAPERR) and a store to a
 * read-only page (SEGV_ACCERR) are "emulated" by skipping the instruction
 * (RIP moved to a label after it) and setting RAX. Then a fault in a second
 * thread leaves its handler with siglongjmp, restoring the signal mask. */
#include "../programs/common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

extern char load_insn[], load_after[], store_insn[], store_after[];
static char *page;
static volatile int handled;
static __thread sigjmp_buf escape;
static __thread int use_longjmp;

__attribute__((noinline, noclone)) static long load(char *p) {
  long v;
  asm volatile(".globl load_insn, load_after\nload_insn: movq (%%rdx), %%rax\nload_after:"
               : "=a"(v) : "d"(p) : "memory");
  return v;
}
__attribute__((noinline, noclone)) static long store(char *p) {
  long v = 0;
  asm volatile(".globl store_insn, store_after\nstore_insn: movq %%rax, (%%rdx)\nstore_after:"
               : "+a"(v) : "d"(p) : "memory");
  return v;
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  greg_t *rip = &uc->uc_mcontext.gregs[REG_RIP];
  if (++handled <= 3 || use_longjmp)
    printf("SIGSEGV code %d at page%+ld\n", si->si_code, (long)((char *)si->si_addr - page));
  if (use_longjmp) siglongjmp(escape, 1);
  if (*rip == (greg_t)load_insn) {
    *rip = (greg_t)load_after;
    uc->uc_mcontext.gregs[REG_RAX] = 0x1234; /* the "loaded" value */
  } else {
    CHECK(*rip == (greg_t)store_insn);
    *rip = (greg_t)store_after;
    uc->uc_mcontext.gregs[REG_RAX] = 0x5678; /* the store's "result" */
  }
}

static void *faulting_thread(void *arg) {
  use_longjmp = 1;
  if (sigsetjmp(escape, 1) == 0) {
    *(volatile int *)(page + 16) = 1; /* read-only: faults */
    printf("store went through: must not happen\n");
  } else {
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    printf("thread: back from siglongjmp, SIGSEGV blocked %d\n", sigismember(&now, SIGSEGV));
  }
  return NULL;
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  /* Two pages: the first read-only, the second unmapped. */
  page = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);
  CHECK(munmap(page + 4096, 4096) == 0);

  long v = load(page + 4096 + 8);
  printf("load from unmapped page returned %lx\n", v);
  CHECK(v == 0x1234);
  v = store(page + 24);
  printf("store to read-only page returned %lx\n", v);
  CHECK(v == 0x5678);
  long sum = 0;
  for (int i = 0; i < 100; i++) sum += load(page + 4096); /* 100 more faults */
  CHECK(sum == 100 * 0x1234);

  pthread_t t;
  CHECK(pthread_create(&t, NULL, faulting_thread, NULL) == 0);
  pthread_join(t, NULL);
  printf("handled %d faults\n", handled);
  CHECK(handled == 103);
  return 0;
}
