/* Checks sigaltstack: a handler installed with SA_ONSTACK must run on the
 * alternate stack (its local's address is inside it) and see SS_ONSTACK. */
#include "common.h"
#include <signal.h>

static char *alt_base;
static size_t alt_size;
static volatile int on_alt, flags_in_handler;

static void handler(int sig) {
  char local;
  on_alt = &local >= alt_base && &local < alt_base + alt_size;
  stack_t cur;
  sigaltstack(NULL, &cur);
  flags_in_handler = cur.ss_flags;
}

int main(void) {
  alt_size = 64 * 1024;
  alt_base = malloc(alt_size);
  CHECK(alt_base != NULL);
  stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0}, old;
  show("sigaltstack set", sigaltstack(&ss, &old));
  printf("  old flags %d (SS_DISABLE %d)\n", old.ss_flags, SS_DISABLE);
  stack_t q;
  show("sigaltstack query", sigaltstack(NULL, &q));
  printf("  sp is ours %d size %zu flags %d\n", q.ss_sp == alt_base, q.ss_size, q.ss_flags);
  stack_t tiny = {.ss_sp = alt_base, .ss_size = 16};
  show("sigaltstack too small", sigaltstack(&tiny, NULL));

  struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_ONSTACK};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("handler on alt stack %d, SS_ONSTACK in handler %d\n", on_alt,
         !!(flags_in_handler & SS_ONSTACK));

  sa.sa_flags = 0;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("without SA_ONSTACK: on alt stack %d\n", on_alt);
  /* Where the alt stack lives varies per run; print it to catch layout drift. */
  printf("alt stack at %p\n", (void *)alt_base);
  return 0;
}
