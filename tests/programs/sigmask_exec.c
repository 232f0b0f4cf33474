/* A signal mask and an ignored SIGILL handed down through execve (issue
 * 15): blocks SIGSEGV, SIGILL, SIGUSR1, SIGBUS and SIGTRAP, ignores SIGILL,
 * and execs itself; that image checks that all five are still blocked and
 * SIGILL ignored, sets SIGILL back to its default (still blocked) and execs
 * itself again, and the last image checks that. Under rewind, ld.so's
 * rdtsc and cpuid trap with SIGILL in each new image, which the kernel
 * forces through a blocked or ignored signal by unblocking it and setting
 * SIG_DFL (core/task/TrapSignals.h). The last image then runs cpuid and
 * rdtsc itself and prints the state again: past the preload library's
 * start rewind no longer puts it back (README, known limits), and record
 * and replay must agree on it. */
#include "common.h"

#include <cpuid.h>
#include <signal.h>
#include <x86intrin.h>

static const int kSignals[] = {SIGSEGV, SIGILL, SIGUSR1, SIGBUS, SIGTRAP};
enum { kCount = sizeof kSignals / sizeof kSignals[0] };

static int report(const char* when) {
  sigset_t now;
  CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
  int blocked = 0;
  printf("%s: blocked", when);
  for (int i = 0; i < kCount; ++i) {
    printf(" %s=%d", sigabbrev_np(kSignals[i]), sigismember(&now, kSignals[i]));
    blocked += sigismember(&now, kSignals[i]);
  }
  struct sigaction sa;
  CHECK(sigaction(SIGILL, NULL, &sa) == 0);
  const int ignored = sa.sa_handler == SIG_IGN;
  printf(", SIGILL %s\n", ignored ? "ignored" : "at its default");
  return blocked == kCount ? 1 + ignored : 0; /* 0: some unblocked */
}

static void exec_self(const char* argv0, const char* stage) {
  fflush(stdout);
  execl("/proc/self/exe", argv0, stage, (char*)NULL);
  perror("execl");
  exit(1);
}

int main(int argc, char** argv) {
  if (argc == 1) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < kCount; ++i) sigaddset(&set, kSignals[i]);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    struct sigaction ign = {0};
    ign.sa_handler = SIG_IGN;
    CHECK(sigaction(SIGILL, &ign, NULL) == 0);
    CHECK(report("before exec") == 2);
    exec_self(argv[0], "ignored");
  }
  if (strcmp(argv[1], "ignored") == 0) {
    CHECK(report("after exec") == 2);
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    CHECK(sigaction(SIGILL, &dfl, NULL) == 0);
    exec_self(argv[0], "blocked");
  }
  CHECK(report("after the second exec") == 1);
  unsigned a, b, c, d;
  __cpuid(0, a, b, c, d);
  const unsigned long long t = __rdtsc();
  printf("cpuid max leaf > 0: %d, rdtsc > 0: %d\n", a > 0, t > 0);
  report("after cpuid and rdtsc");
  return 0;
}
