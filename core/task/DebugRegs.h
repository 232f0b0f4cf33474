// The x86 debug registers of one thread, set through PTRACE_POKEUSER
// (Intel SDM vol. 3, 18.2): DR0-DR3 hold addresses, DR7 enables them with a
// condition (execute, write, read/write) and a length, and DR6 says which
// one fired. The hypervisors we run on pass them through (no-pmu.md).
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
// Reads DR6 and clears it (the CPU never clears it by itself). Bits 0-3
// tell which slot triggered.
Result<uint64_t> take_dr6(pid_t tid);

}  // namespace rwd
