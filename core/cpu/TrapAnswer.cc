#include "core/cpu/TrapAnswer.h"

#include <cpuid.h>
#include <x86intrin.h>

#include "core/cpu/Cpuid.h"

namespace rwd {

namespace {

// RFLAGS bits rdrand and rdseed write: CF says whether the number is
// valid; OF, SF, ZF, AF and PF are cleared (Intel SDM, RDRAND).
constexpr uint64_t kCarry = 1u << 0, kParity = 1u << 2, kAdjust = 1u << 4, kZero = 1u << 6,
                   kSign = 1u << 7, kOverflow = 1u << 11;

// The hardware may have no number ready (CF clear); Intel's guidance is to
// retry, and a program would. Retried here, the recorded answer is a
// number whenever the CPU gives one within these tries.
constexpr int kRandomTries = 1000;

bool random_here(bool seed, uint64_t& value) {
  for (int i = 0; i < kRandomTries; ++i) {
    unsigned char ok = 0;
    if (seed)
      asm volatile("rdseed %0; setc %1" : "=r"(value), "=qm"(ok) : : "cc");
    else
      asm volatile("rdrand %0; setc %1" : "=r"(value), "=qm"(ok) : : "cc");
    if (ok) return true;
  }
  value = 0;
  return false;
}

}  // namespace

bool can_answer_here(TrapInsn kind) {
  static const bool rdrand = [] {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 30));
  }();
  static const bool rdseed = [] {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 18));
  }();
  if (kind == TrapInsn::Rdrand) return rdrand;
  if (kind == TrapInsn::Rdseed) return rdseed;
  return true;
}

TrapAnswer answer_here(const TrapInsnInfo& insn, const user_regs_struct& regs,
                       const std::vector<std::string>& allowed) {
  TrapAnswer a;
  switch (insn.kind) {
    case TrapInsn::Rdtsc:
      a.tsc = __rdtsc();
      break;
    case TrapInsn::Rdtscp: {
      unsigned aux = 0;
      a.tsc = __rdtscp(&aux);
      a.tsc_aux = aux;
      break;
    }
    case TrapInsn::Cpuid: {
      const auto leaf = static_cast<uint32_t>(regs.rax), subleaf = static_cast<uint32_t>(regs.rcx);
      __cpuid_count(leaf, subleaf, a.cpuid[0], a.cpuid[1], a.cpuid[2], a.cpuid[3]);
      cpu::hide_cpuid_features(leaf, subleaf, a.cpuid, allowed);
      break;
    }
    case TrapInsn::Rdrand:
    case TrapInsn::Rdseed:
      a.random_ok = random_here(insn.kind == TrapInsn::Rdseed, a.random);
      break;
  }
  return a;
}

user_regs_struct apply_answer(const TrapInsnInfo& insn, const TrapAnswer& a,
                              user_regs_struct regs) {
  switch (insn.kind) {
    case TrapInsn::Rdtsc:
    case TrapInsn::Rdtscp:
      regs.rax = static_cast<uint32_t>(a.tsc);
      regs.rdx = a.tsc >> 32;
      if (insn.kind == TrapInsn::Rdtscp) regs.rcx = a.tsc_aux;
      break;
    case TrapInsn::Cpuid:
      regs.rax = a.cpuid[0];
      regs.rbx = a.cpuid[1];
      regs.rcx = a.cpuid[2];
      regs.rdx = a.cpuid[3];
      break;
    case TrapInsn::Rdrand:
    case TrapInsn::Rdseed:
      set_gpr_by_number(regs, insn.dest_reg, insn.dest_bits, a.random_ok ? a.random : 0);
      regs.eflags &= ~(kCarry | kParity | kAdjust | kZero | kSign | kOverflow);
      if (a.random_ok) regs.eflags |= kCarry;
      break;
  }
  regs.rip += insn.length;
  return regs;
}

}  // namespace rwd
