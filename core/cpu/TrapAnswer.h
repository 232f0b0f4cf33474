// What the trapped instructions (core/task/TrapPatch.h) answer, and how an
// answer lands in a thread's registers: one place for the three users.
// Record computes each answer here and writes it into the trace; replay
// reads it back and applies it; a diversion (a function the debugger calls
// in the replayed process) computes it here and keeps nothing.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cpu/Insn.h"

namespace rwd {

struct TrapAnswer {
  uint64_t tsc = 0;                 // rdtsc, rdtscp: edx:eax
  uint32_t tsc_aux = 0;             // rdtscp: ecx
  std::array<uint32_t, 4> cpuid{};  // cpuid: eax, ebx, ecx, edx
  uint64_t random = 0;              // rdrand, rdseed: the number
  bool random_ok = true;            // rdrand, rdseed: the carry flag
};

// Whether this CPU can execute the instruction at all: rdrand and rdseed
// are CPUID features (on a CPU without them the program's own instruction
// would have raised SIGILL, and so must the patched one).
bool can_answer_here(TrapInsn kind);

// Executes the instruction on this CPU for a thread whose registers are
// `regs` (cpuid reads its leaf and subleaf there). cpuid's answer hides
// features as cpu::hide_cpuid_features does with `allowed`.
TrapAnswer answer_here(const TrapInsnInfo& insn, const user_regs_struct& regs,
                       const std::vector<std::string>& allowed);

// The thread's registers once the instruction has answered `a`: its
// outputs, rdrand's flags, and rip past it.
user_regs_struct apply_answer(const TrapInsnInfo& insn, const TrapAnswer& a, user_regs_struct regs);

}  // namespace rwd
