// CPUID capture and compatibility. A recording stores every CPUID leaf of the
// machine it ran on (trace::TraceHeader::cpuid) and its XCR0. Programs pick
// code paths from CPUID once (glibc's ifuncs choose AVX2 or AVX-512 string
// functions at startup), so replaying on a CPU without a recorded feature
// hits an illegal instruction. missing_features() names what would be
// missing, so that replay can refuse with a clear message.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/trace/TraceTypes.h"

namespace rwd::cpu {

// Every CPUID leaf of this CPU: basic leaves 0..max (leaf 0 eax), extended
// leaves 0x80000000..max (leaf 0x80000000 eax), and for the leaves that have
// subleaves (4, 7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1d, 0x1f,
// 0x8000001d) each valid subleaf, including the terminating one a program's
// enumeration loop reads last. Sorted by (leaf, subleaf).
std::vector<trace::CpuidLeaf> read_all_cpuid_leaves();

// XCR0, the state components the OS enabled for XSAVE (xgetbv(0)); 0 when
// the OS hasn't enabled XSAVE (CPUID.1:ECX.OSXSAVE clear).
uint64_t read_xcr0();

// Features the recorded CPU had and the current one lacks, by their Linux
// /proc/cpuinfo names ("avx2", "sha_ni", "abm" for LZCNT), followed by XCR0
// state components the recording had enabled and the current OS doesn't
// ("xcr0: avx512 state"). Only bits that change what user-space code can
// execute are compared: not the hypervisor bit, APIC ids, cache descriptors
// or kernel-only features. Empty when replay can run here.
std::vector<std::string> missing_features(const std::vector<trace::CpuidLeaf>& recorded,
                                          uint64_t recorded_xcr0,
                                          const std::vector<trace::CpuidLeaf>& current,
                                          uint64_t current_xcr0);

// What a recorded program's cpuid(leaf, subleaf) returns, from this CPU's
// answer `out` (eax, ebx, ecx, edx): the same with the feature bits hidden
// that rewind keeps from programs (core/task/TrapPatch.h traps the
// instruction, so the answer is the recorder's to give, and replay gives
// the recorded one back):
//  - rdrand and rdseed, always: their random numbers come from the CPU
//    without a trap, so replay could not return them. OpenSSL, for one,
//    uses them only when CPUID says so.
//  - with --cpu-features (`allowed` not empty), every feature outside
//    `allowed` but tsc and clflush (which every x86-64 CPU has), so that
//    code dispatching on CPUID itself (libgcc's __builtin_cpu_supports,
//    hand-written dispatch) stays within them too.
void hide_cpuid_features(uint32_t leaf, uint32_t subleaf, std::array<uint32_t, 4>& out,
                         const std::vector<std::string>& allowed);

// "GenuineIntel family 6 model 143 stepping 8: Intel(R) Xeon(R) ...", for
// messages and `rewind dump`.
std::string describe_cpu(const std::vector<trace::CpuidLeaf>& leaves);

// Whether this kernel and CPU can make CPUID fault (arch_prctl ARCH_SET_CPUID,
// Linux 4.12, Intel only; also under KVM), which lets replay present the
// recorded CPUID values. Probed in a forked child so that this process keeps
// CPUID enabled.
bool cpuid_faulting_available();

}  // namespace rwd::cpu
