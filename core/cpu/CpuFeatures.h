// `rewind record --cpu-features LEVEL`: making a recorded program avoid CPU
// features so that its trace replays on CPUs that lack them.
//
// Without CPUID faulting rewind cannot change what CPUID tells the program
// (Cpuid.h), and replay re-executes the program on the replaying CPU, so a
// program that picked AVX-512 string functions while recording picks them
// again in replay and faults on a CPU without them. What can be changed is the
// environment, and the self-dispatching code most programs run honours it:
//  - glibc (2.26 and later) drops features named in the tunable
//    glibc.cpu.hwcaps=-AVX2,... from the feature set its ifunc resolvers
//    (memcpy, strlen, libm's FMA variants, libmvec) and its glibc-hwcaps
//    library directory choice (x86-64-v2/v3/v4) read;
//  - OpenSSL ANDs its capability vector with the complement of
//    OPENSSL_ia32cap=~0x...:~0x...
// Both are set for the program, and since replay starts it with the recorded
// environment, replay sees the same masks: the program then takes the same
// paths on any CPU that has the allowed features. Code that executes CPUID
// itself (libgcc's __builtin_cpu_supports, JITs, hand-written dispatch) and
// instructions compiled in unconditionally are beyond reach; see the README.
//
// Features are named as Linux's /proc/cpuinfo names them, as
// missing_features() reports them ("avx2", "abm" for LZCNT, "pni" for SSE3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/Error.h"
#include "core/trace/TraceTypes.h"

namespace rwd::cpu {

// The x86-64 psABI microarchitecture levels: "x86-64-v1" .. "x86-64-v4".
const std::vector<std::string>& cpu_level_names();

// Every feature name --cpu-features accepts, in the order missing_features()
// reports them.
const std::vector<std::string>& cpu_feature_names();

// What `rewind record --cpu-features list` prints: the levels with the
// features each adds, then every feature name.
std::string describe_cpu_feature_choices();

// Expands "x86-64-v2,avx" (levels and feature names, comma-separated; case
// does not matter) into the features a program may use: the union of the
// items, always x86-64-v1 (no x86-64 program runs without it), and the
// features each allowed one depends on (Linux's cpuid-deps.c: avx needs
// xsave; avx2, fma and avx512f need avx; ...). In cpu_feature_names()
// order, without duplicates. An unknown item is an error naming it.
Result<std::vector<std::string>> expand_cpu_features(std::string_view spec);

// The feature names of a CPU's leaves (read_all_cpuid_leaves()).
std::vector<std::string> cpu_features_of(const std::vector<trace::CpuidLeaf>& leaves);

// The value of glibc's tunable glibc.cpu.hwcaps that turns off every feature
// glibc 2.36 can turn off ("-AVX,-AVX2,...", sysdeps/x86/cpu-tunables.c)
// except those in `usable`. Empty when there is nothing to turn off.
std::string glibc_hwcaps_mask(const std::vector<std::string>& usable);

// GLIBC_TUNABLES with `hwcaps` ("-AVX,...") added to it. glibc applies a
// tunable given twice from its last occurrence only, so the items go at the
// end of the user's last glibc.cpu.hwcaps, or in a new item at the end.
std::string add_glibc_hwcaps(std::string_view tunables, std::string_view hwcaps);

// OPENSSL_ia32cap that clears every bit OpenSSL documents (OPENSSL_ia32cap(3):
// CPUID.1:EDX:ECX and CPUID.(7,0):EBX:ECX) of a feature not in `usable`:
// "~0x...:~0x...". OpenSSL keeps the other bits as CPUID reports them.
std::string openssl_ia32cap_mask(const std::vector<std::string>& usable);

// Sets GLIBC_TUNABLES and OPENSSL_ia32cap in `env` (NAME=VALUE strings) so
// that the program uses only features that are both `allowed` and `present`
// on the recording CPU. Masking what the recording CPU lacks too keeps a
// replay on a bigger CPU from choosing differently. A user's own
// GLIBC_TUNABLES is extended; a user's own OPENSSL_ia32cap is kept. Returns
// warnings for the user (the kept OPENSSL_ia32cap).
std::vector<std::string> apply_cpu_feature_env(std::vector<std::string>& env,
                                               const std::vector<std::string>& allowed,
                                               const std::vector<std::string>& present);

// Of `missing` (missing_features() of a recording against this CPU), those
// that still stop replay given the features the recording allowed
// (TraceHeader::cpu_features): all of them when `allowed` is empty (no
// --cpu-features), else the features in `allowed`, and XCR0 state components
// of an allowed feature ("xcr0: avx512 state" with avx512f allowed) or of
// none rewind knows.
std::vector<std::string> missing_allowed_features(const std::vector<std::string>& missing,
                                                  const std::vector<std::string>& allowed);

}  // namespace rwd::cpu
