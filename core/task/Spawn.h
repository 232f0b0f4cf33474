// Starting the first tracee, the same way for recording and for replay, so
// that the process starts from the same state in both.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd {

// What rewind's seccomp filter lets through: syscalls made from these
// `syscall` instructions, all in rewind's page (preload/abi.h), which record
// and replay each choose (RecordSession::start, ReplaySession::start).
struct SeccompFilter {
  std::vector<uint64_t> untraced_insns;
};

struct SpawnOptions {
  std::string exe_path;           // what to execve
  std::vector<std::string> argv;  // argv as the program sees it
  std::vector<std::string> env;
  int cpu = 0;  // the CPU every tracee is pinned to
  // Install rewind's seccomp filter before the execve (a recording with
  // syscall buffering, and its replay): syscalls then stop the tracee at
  // PTRACE_EVENT_SECCOMP, except those made from the filter's untraced
  // instructions, which don't stop it at all.
  std::optional<SeccompFilter> seccomp_filter;
  // Replay: the signals the program started with ignored (bit sig-1), as
  // the recording found them (TraceHeader::ignored_signals); every other
  // disposition is reset to SIG_DFL, whatever the replaying rewind's
  // own are (execve keeps ignored signals). Unset: the program inherits
  // rewind's, as a recording does.
  std::optional<uint64_t> ignored_signals;
};

// The signals this process ignores (bit sig-1), which a program it
// execs starts with ignored.
uint64_t ignored_signals_now();

// What spawn_traced started.
struct Spawned {
  // The tracee, stopped at the syscall-exit stop of its successful execve;
  // 0 when it died in the execve.
  pid_t pid = 0;
  // The wait status of a child the kernel killed while it loaded the
  // program: an execve that fails after its point of no return (a truncated
  // executable or ELF interpreter) cannot return an error, so the kernel
  // sends SIGSEGV (or SIGKILL) instead. The program's parent would see this
  // status; rewind reports it as the program's.
  std::optional<int> died_in_exec;
};

// fork()s a child that pins itself to options.cpu, disables ASLR
// (personality ADDR_NO_RANDOMIZE, so mappings land at the same addresses in
// record and replay), makes rdtsc trap (PR_SET_TSC), asks to be traced and
// execs, with rewind's ptrace options set. An execve that fails with an
// errno is an Error that names the program and errno, and leaves no process
// behind.
Result<Spawned> spawn_traced(const SpawnOptions& options);

// The ptrace options every tracee gets.
constexpr long kPtraceOptions = 0x1 /*TRACESYSGOOD*/ | 0x2 /*TRACEFORK*/ | 0x4 /*TRACEVFORK*/ |
                                0x8 /*TRACECLONE*/ | 0x10 /*TRACEEXEC*/ | 0x40 /*TRACEEXIT*/ |
                                0x80 /*TRACESECCOMP*/ | 0x100000 /*EXITKILL*/;

// Pins the calling process (the tracer) to one CPU: ptrace stops cost ~7 us
// when tracer and tracee share a CPU and ~60 us when they don't (no-pmu.md).
// `preferred` if this process may run there; otherwise one picked by pid,
// which spreads concurrent rewind processes over the CPUs. Returns the CPU.
Result<int> pin_tracer_to_one_cpu(int preferred = -1);

}  // namespace rwd
