// The signals rewind's traps come with, as the program had them: SIGILL
// (`ud2` at a patched site, TrapPatch.h), SIGSEGV (`cpuid` where CPUID
// faulting is on), and SIGTRAP (a restored thread's last trap, which
// reproduce_trap takes again, ThreadCopy.h).
//
// The kernel delivers a trap's signal even where the program blocks or
// ignores it: force_sig_info_to_task unblocks it and sets it to SIG_DFL
// first. So every trap at a patched site undid a SIGILL that a program
// blocked or ignored and handed down through execve, in ld.so's start-up
// (its rdtsc and cpuid), before the program's first instruction. From an
// execve to the preload library's start the tracer sees every syscall, so
// it knows the state the program had, and puts it back after each trap.
// Whatever may change it (a syscall that sets a mask or an action, a
// signal's delivery, the library's start, after which such syscalls are
// buffered) makes it unknown until the next execve: from then on a trap
// leaves the kernel's change (README, known limits).
//
// Record and replay keep this alike, from the events both see
// (note_event), so the program sees the same masks in both.
#pragma once

#include <cstdint>
#include <optional>

#include "core/base/Error.h"
#include "core/task/Task.h"
#include "core/trace/TraceTypes.h"

namespace rwd {

struct TrapSignals {
  uint64_t blocked = 0;  // of the trap signals (bit sig - 1), those the thread blocks
  uint64_t ignored = 0;  // and those its process ignores
};

// At the exit of an execve: the state the new image starts with.
Result<TrapSignals> read_trap_signals(Task& t);
// After a trap of `sig` at a patched site, the task at that signal's
// delivery stop: blocks and ignores `sig` again where `s` says so.
Result<void> restore_trap_signal(Task& t, int sig, const TrapSignals& s);
// Whether the kernel changes `sig` to deliver it as a trap (it is blocked
// or ignored).
bool trap_changes(const TrapSignals& s, int sig);
// Forgets `s` at an event that may change it.
void note_event(std::optional<TrapSignals>& s, const trace::Event& e);

}  // namespace rwd
