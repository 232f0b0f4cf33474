/* Checks SA_RESETHAND and SA_NODEFER. SA_RESETHAND: the handler runs once,
 * the disposition is back to SIG_DFL inside it, and a second SIGURG (default:
 * ignore) runs nothing. SA_NODEFER: a handler that raises its own signal
 * nests 3 deep; without it the raise stays pending until the handler returns,
 * so the nesting never exceeds 1 but the count still reaches 3. */
#include "../programs/common.h"
#include <signal.h>

static volatile int runs, depth, max_depth, dfl_inside;

static void once(int sig) {
  struct sigaction now;
  sigaction(sig, NULL, &now);
  dfl_inside = now.sa_handler == SIG_DFL;
  runs++;
}

static void nest(int sig) {
  depth++;
  if (depth > max_depth) max_depth = depth;
  if (++runs < 3) raise(sig);
  depth--;
}

int main(void) {
  struct sigaction sa = {.sa_handler = once, .sa_flags = SA_RESETHAND};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGURG, &sa, NULL) == 0);
  raise(SIGURG);
  raise(SIGURG);
  printf("SA_RESETHAND: runs %d, SIG_DFL inside the handler %d\n", runs, dfl_inside);
  CHECK(runs == 1 && dfl_inside);

  sa.sa_handler = nest;
  sa.sa_flags = SA_NODEFER;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  runs = depth = max_depth = 0;
  raise(SIGUSR1);
  printf("SA_NODEFER: runs %d, max depth %d\n", runs, max_depth);
  CHECK(runs == 3 && max_depth == 3);

  sa.sa_flags = 0;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  runs = depth = max_depth = 0;
  raise(SIGUSR1);
  printf("deferred: runs %d, max depth %d\n", runs, max_depth);
  CHECK(runs == 3 && max_depth == 1);

  /* Both flags: the nested raise hits SIG_DFL of SIGWINCH (ignore). */
  sa.sa_flags = SA_NODEFER | SA_RESETHAND;
  CHECK(sigaction(SIGWINCH, &sa, NULL) == 0);
  runs = depth = max_depth = 0;
  raise(SIGWINCH);
  printf("NODEFER|RESETHAND: runs %d, max depth %d\n", runs, max_depth);
  CHECK(runs == 1);
  return 0;
}
