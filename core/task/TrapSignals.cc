#include "core/task/TrapSignals.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/syscalls/SyscallTable.h"
#include "core/task/ProcessState.h"

namespace rwd {

namespace {

constexpr uint64_t bit(int sig) {
  return uint64_t(1) << (sig - 1);
}
constexpr uint64_t kTrapSignals = bit(SIGILL) | bit(SIGSEGV) | bit(SIGTRAP);

Result<uint64_t> sigmask_of(Task& t) {
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, t.real_tid(), sizeof mask, &mask) != 0)
    return Error::from_errno("PTRACE_GETSIGMASK");
  return mask;
}

// The process's ignored signals: SigIgn of /proc/TID/status, in hex.
Result<uint64_t> ignored_of(Task& t) {
  const std::string path = "/proc/" + std::to_string(t.real_tid()) + "/status";
  std::ifstream in(path);
  if (!in) return Error::from_errno("open " + path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("SigIgn:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 16);
  return Error{path + " has no SigIgn field"};
}

}  // namespace

Result<TrapSignals> read_trap_signals(Task& t) {
  auto mask = sigmask_of(t);
  if (!mask) return mask.error();
  auto ignored = ignored_of(t);
  if (!ignored) return ignored.error();
  return TrapSignals{*mask & kTrapSignals, *ignored & kTrapSignals};
}

Result<void> restore_trap_signal(Task& t, int sig, const TrapSignals& s) {
  if (!(kTrapSignals & bit(sig))) return ok_result();
  if (s.ignored & bit(sig)) {
    KernelSigaction ignore{};
    ignore.handler = reinterpret_cast<uint64_t>(SIG_IGN);
    REWIND_TRY(set_sigaction(t, sig, ignore));
  }
  if (s.blocked & bit(sig)) {
    auto mask = sigmask_of(t);
    if (!mask) return mask.error();
    uint64_t want = *mask | bit(sig);
    if (ptrace(PTRACE_SETSIGMASK, t.real_tid(), sizeof want, &want) != 0)
      return Error::from_errno("PTRACE_SETSIGMASK");
  }
  return ok_result();
}

bool trap_changes(const TrapSignals& s, int sig) {
  return ((s.blocked | s.ignored) & kTrapSignals & bit(sig)) != 0;
}

void note_event(std::optional<TrapSignals>& s, const trace::Event& e) {
  if (!s) return;
  if (e.kind == trace::EventKind::Signal) {
    s.reset();  // a handler runs with its own mask
    return;
  }
  if (e.kind != trace::EventKind::SyscallEntry) return;
  const sys::SyscallDesc* d = sys::find(static_cast<int64_t>(e.regs.orig_rax));
  if (d && (d->flags & sys::kSignalState)) s.reset();
}

}  // namespace rwd
