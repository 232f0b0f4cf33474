// The x86 debug registers of one thread, set through PTRACE_POKEUSER
// (Intel SDM vol. 3, 18.2): DR0-DR3 hold addresses, DR7 enables them with a
// condition (execute, write, read/write) and a length, and DR6 says which
// one fired. Most hypervisors we run on pass them through (no-pmu.md); on
// some (an AMD EPYC guest with Linux 6.18) PTRACE_POKEUSER takes the values
// and the CPU never traps on them, not even for gdb itself. Replay then
// watches by single-stepping instead (ReplayDebug.cc).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>

#include "core/base/Error.h"

namespace rwd {

struct DebugRegSlot {
  enum class Condition : uint8_t { Execute = 0, Write = 1, ReadWrite = 3 };
  bool enabled = false;
  uint64_t addr = 0;
  Condition condition = Condition::Execute;
  uint8_t len = 1;  // 1, 2, 4 or 8; 1 for Execute
};

using DebugRegSlots = std::array<DebugRegSlot, 4>;

// Programs DR0-DR3 and DR7 of `tid`.
Result<void> set_debug_registers(pid_t tid, const DebugRegSlots& slots);
// Whether this machine's debug registers trap: a traced child with an
// execute breakpoint in DR0 must stop there. Probed once per process.
bool debug_registers_work();
// Reads DR6 and clears it (the CPU never clears it by itself). Bits 0-3
// tell which slot triggered.
Result<uint64_t> take_dr6(pid_t tid);

}  // namespace rwd
