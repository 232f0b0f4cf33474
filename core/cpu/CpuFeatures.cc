#include "core/cpu/CpuFeatures.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/cpu/Cpuid.h"

namespace rwd::cpu {
namespace {

// The names missing_features() can report (Cpuid.cc's table), in its order.
// cpu_features_test checks that the two agree.
// clang-format off
const std::vector<std::string> kFeatureNames = {
  "fpu", "tsc", "cx8", "cmov", "clflush", "mmx", "fxsr", "sse", "sse2",
  "pni", "pclmulqdq", "ssse3", "fma", "cx16", "sse4_1", "sse4_2", "movbe", "popcnt", "aes",
  "xsave", "osxsave", "avx", "f16c", "rdrand",
  "fsgsbase", "bmi1", "hle", "avx2", "bmi2", "erms", "rtm", "avx512f", "avx512dq", "rdseed",
  "adx", "avx512ifma", "clflushopt", "clwb", "avx512pf", "avx512er", "avx512cd", "sha_ni",
  "avx512bw", "avx512vl", "avx512vbmi", "pku", "ospke", "waitpkg", "avx512_vbmi2", "gfni",
  "vaes", "vpclmulqdq", "avx512_vnni", "avx512_bitalg", "avx512_vpopcntdq", "rdpid",
  "cldemote", "movdiri", "movdir64b", "avx512_4vnniw", "avx512_4fmaps", "fsrm",
  "avx512_vp2intersect", "serialize", "tsxldtrk", "amx_bf16", "avx512_fp16", "amx_tile",
  "amx_int8", "sha512", "sm3", "sm4", "avx_vnni", "avx512_bf16", "cmpccxadd", "fzrm", "fsrs",
  "fsrc", "amx_fp16", "avx_ifma",
  "xsaveopt", "xsavec", "xgetbv1",
  "lahf_lm", "abm", "sse4a", "misalignsse", "3dnowprefetch", "xop", "fma4", "tbm", "mwaitx",
  "syscall", "mmxext", "fxsr_opt", "rdtscp", "lm", "3dnowext", "3dnow",
};
// clang-format on

// Names people use for a feature that /proc/cpuinfo calls otherwise.
struct Alias {
  const char* alias;
  const char* name;
};
constexpr Alias kAliases[] = {{"lzcnt", "abm"}, {"sse3", "pni"}};

// The x86-64 psABI levels (x86-64-psABI, 3.1.1 "Processor Architecture"),
// each with what it adds to the one before. "lm" (long mode) and "syscall"
// are x86-64 itself.
struct Level {
  const char* name;
  std::vector<std::string> adds;
};
const std::vector<Level> kLevels = {
    {"x86-64-v1", {"fpu", "cx8", "cmov", "mmx", "fxsr", "sse", "sse2", "syscall", "lm"}},
    {"x86-64-v2", {"cx16", "lahf_lm", "pni", "popcnt", "sse4_1", "sse4_2", "ssse3"}},
    {"x86-64-v3",
     {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave", "osxsave"}},
    {"x86-64-v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}},
};

// Feature -> a feature it needs, from Linux's arch/x86/kernel/cpu/cpuid-deps.c
// (restricted to the names above), plus xsave -> osxsave: XSAVE is usable
// only once the OS enabled it, and glibc turns XSAVE off with OSXSAVE.
struct Dep {
  const char* feature;
  const char* needs;
};
constexpr Dep kDeps[] = {
    {"fxsr", "fpu"},
    {"xsaveopt", "xsave"},
    {"xsavec", "xsave"},
    {"avx", "xsave"},
    {"pku", "xsave"},
    {"xgetbv1", "xsave"},
    {"cmov", "fxsr"},
    {"mmx", "fxsr"},
    {"mmxext", "mmx"},
    {"fxsr_opt", "fxsr"},
    {"xsave", "fxsr"},
    {"sse", "fxsr"},
    {"sse2", "sse"},
    {"pni", "sse2"},
    {"sse4_1", "sse2"},
    {"sse4_2", "sse2"},
    {"pclmulqdq", "sse2"},
    {"ssse3", "sse2"},
    {"f16c", "sse2"},
    {"aes", "sse2"},
    {"sha_ni", "sse2"},
    {"gfni", "sse2"},
    {"fma", "avx"},
    {"vaes", "avx"},
    {"vpclmulqdq", "avx"},
    {"avx2", "avx"},
    {"avx512f", "avx"},
    {"avx512ifma", "avx512f"},
    {"avx512pf", "avx512f"},
    {"avx512er", "avx512f"},
    {"avx512cd", "avx512f"},
    {"avx512dq", "avx512f"},
    {"avx512bw", "avx512f"},
    {"avx512vl", "avx512f"},
    {"avx512vbmi", "avx512f"},
    {"avx512_vbmi2", "avx512vl"},
    {"avx512_vnni", "avx512vl"},
    {"avx512_bitalg", "avx512vl"},
    {"avx512_4vnniw", "avx512f"},
    {"avx512_4fmaps", "avx512f"},
    {"avx512_vpopcntdq", "avx512f"},
    {"avx512_vp2intersect", "avx512vl"},
    {"avx512_bf16", "avx512vl"},
    {"avx512_fp16", "avx512bw"},
    {"xsave", "osxsave"},
};

// The CPU features glibc 2.36's glibc.cpu.hwcaps can turn off
// (TUNABLE_CALLBACK (set_hwcaps) in sysdeps/x86/cpu-tunables.c), by their
// glibc names. Left out: CX8, CMOV and SSE2 (x86-64-v1, always allowed), HTT
// (not an instruction set), IBT and SHSTK (CET, which the kernel controls).
// Turning off both XSAVE and XSAVEC (or OSXSAVE) makes glibc drop every AVX
// and AVX-512 feature too (init_cpu_features), F16C and the AVX-512
// extensions that have no tunable of their own included, and makes its lazy
// binding trampoline save registers with fxsave.
// clang-format off
constexpr Alias kGlibcNames[] = {
  {"fma", "FMA"},          {"ssse3", "SSSE3"},       {"sse4_1", "SSE4_1"},
  {"sse4_2", "SSE4_2"},    {"movbe", "MOVBE"},       {"popcnt", "POPCNT"},
  {"xsave", "XSAVE"},      {"osxsave", "OSXSAVE"},   {"avx", "AVX"},
  {"bmi1", "BMI1"},        {"avx2", "AVX2"},         {"bmi2", "BMI2"},
  {"erms", "ERMS"},        {"rtm", "RTM"},           {"avx512f", "AVX512F"},
  {"avx512dq", "AVX512DQ"}, {"avx512pf", "AVX512PF"}, {"avx512er", "AVX512ER"},
  {"avx512cd", "AVX512CD"}, {"avx512bw", "AVX512BW"}, {"avx512vl", "AVX512VL"},
  {"xsavec", "XSAVEC"},    {"abm", "LZCNT"},         {"fma4", "FMA4"},
};
// clang-format on

// The bits of OpenSSL's capability vector that OPENSSL_ia32cap(3) documents,
// other than x86-64-v1 ones. Word 0 is CPUID.1 EDX (bits 0-31) and ECX (bits
// 32-63), word 1 CPUID.(7,0) EBX and ECX. OpenSSL puts AMD's XOP (CPUID
// 0x80000001:ECX.11) in ECX bit 11, where Intel has nothing.
struct OpensslBit {
  const char* name;
  int word;
  int bit;
};
constexpr OpensslBit kOpensslBits[] = {
    {"pclmulqdq", 0, 33},  {"ssse3", 0, 41},    {"xop", 0, 43},      {"movbe", 0, 54},
    {"aes", 0, 57},        {"xsave", 0, 58},    {"osxsave", 0, 59},  {"avx", 0, 60},
    {"rdrand", 0, 62},     {"bmi1", 1, 3},      {"avx2", 1, 5},      {"bmi2", 1, 8},
    {"avx512f", 1, 16},    {"rdseed", 1, 18},   {"adx", 1, 19},      {"avx512ifma", 1, 21},
    {"sha_ni", 1, 29},     {"avx512bw", 1, 30}, {"avx512vl", 1, 31}, {"vaes", 1, 41},
    {"vpclmulqdq", 1, 42},
};

// XCR0 state components as missing_features() names them, and the feature
// whose instructions use them; nullptr: no feature name covers it.
struct XstateOwner {
  const char* component;
  const char* feature;
};
constexpr XstateOwner kXstateOwners[] = {
    {"xcr0: x87 state", "fpu"},      {"xcr0: sse state", "sse"},        {"xcr0: avx state", "avx"},
    {"xcr0: mpx state", nullptr},    {"xcr0: avx512 state", "avx512f"}, {"xcr0: pkru state", "pku"},
    {"xcr0: amx state", "amx_tile"}, {"xcr0: apx state", nullptr},
};

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The features of `names` plus everything they need, in kFeatureNames order.
std::vector<std::string> close_over_deps(std::vector<std::string> names) {
  for (bool changed = true; changed;) {
    changed = false;
    for (const Dep& d : kDeps) {
      if (contains(names, d.feature) && !contains(names, d.needs)) {
        names.push_back(d.needs);
        changed = true;
      }
    }
  }
  std::vector<std::string> out;
  for (const std::string& f : kFeatureNames)
    if (contains(names, f)) out.push_back(f);
  return out;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The value of NAME in `env` (NAME=VALUE strings), or nullptr.
std::string* find_env(std::vector<std::string>& env, std::string_view name) {
  for (std::string& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return &e;
  return nullptr;
}

}  // namespace

const std::vector<std::string>& cpu_level_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Level& l : kLevels) v.push_back(l.name);
    return v;
  }();
  return names;
}

const std::vector<std::string>& cpu_feature_names() {
  return kFeatureNames;
}

std::string describe_cpu_feature_choices() {
  std::string s = "levels (each includes the ones before it):\n";
  for (const Level& l : kLevels) {
    s += "  " + std::string(l.name) + " ";
    for (const std::string& f : l.adds) s += " " + f;
    s += "\n";
  }
  s += "features (as /proc/cpuinfo names them";
  for (const Alias& a : kAliases) s += std::string("; ") + a.alias + " = " + a.name;
  s += "):\n ";
  size_t col = 1;
  for (const std::string& f : kFeatureNames) {
    if (col + 1 + f.size() > 78) {
      s += "\n ";
      col = 1;
    }
    s += " " + f;
    col += 1 + f.size();
  }
  s += "\nLEVEL is a level or a feature, or several joined with commas (e.g. x86-64-v2,avx).\n";
  return s;
}

Result<std::vector<std::string>> expand_cpu_features(std::string_view spec) {
  if (spec.empty()) return Error{"no CPU level or feature given"};
  std::vector<std::string> names = kLevels[0].adds;
  size_t pos = 0;
  for (;;) {
    const size_t comma = spec.find(',', pos);
    const std::string_view item =
        spec.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    std::string name = lower(item);
    for (const Alias& a : kAliases)
      if (name == a.alias) name = a.name;
    if (name.empty()) return Error{"empty item in '" + std::string(spec) + "'"};
    bool known = false;
    for (size_t i = 0; i < kLevels.size() && !known; ++i) {
      if (name != kLevels[i].name) continue;
      for (size_t j = 0; j <= i; ++j)
        names.insert(names.end(), kLevels[j].adds.begin(), kLevels[j].adds.end());
      known = true;
    }
    if (!known && contains(kFeatureNames, name)) {
      names.push_back(name);
      known = true;
    }
    if (!known) return Error{"unknown CPU level or feature '" + std::string(item) + "'"};
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return close_over_deps(std::move(names));
}

std::vector<std::string> cpu_features_of(const std::vector<trace::CpuidLeaf>& leaves) {
  // What a recording on this CPU would miss on a CPU with no leaves at all.
  std::vector<std::string> out;
  for (std::string& f : missing_features(leaves, 0, {}, 0))
    if (f.compare(0, 5, "xcr0:") != 0) out.push_back(std::move(f));
  return out;
}

std::string glibc_hwcaps_mask(const std::vector<std::string>& usable) {
  std::string s;
  for (const Alias& g : kGlibcNames)
    if (!contains(usable, g.alias)) s += (s.empty() ? "-" : ",-") + std::string(g.name);
  return s;
}

std::string add_glibc_hwcaps(std::string_view tunables, std::string_view hwcaps) {
  static constexpr std::string_view kItem = "glibc.cpu.hwcaps=";
  if (hwcaps.empty()) return std::string(tunables);
  // The last item that sets glibc.cpu.hwcaps; items are NAME=VALUE, ':'-separated.
  size_t last = std::string_view::npos, end = 0;
  for (size_t pos = 0; pos <= tunables.size();) {
    size_t colon = tunables.find(':', pos);
    if (colon == std::string_view::npos) colon = tunables.size();
    if (tunables.substr(pos, colon - pos).starts_with(kItem)) last = pos, end = colon;
    pos = colon + 1;
  }
  std::string out(tunables);
  if (last == std::string_view::npos) {
    if (!out.empty() && out.back() != ':') out += ':';
    return out + std::string(kItem) + std::string(hwcaps);
  }
  const bool empty_value = end == last + kItem.size();
  out.insert(end, (empty_value ? "" : ",") + std::string(hwcaps));
  return out;
}

std::string openssl_ia32cap_mask(const std::vector<std::string>& usable) {
  uint64_t mask[2] = {0, 0};
  for (const OpensslBit& b : kOpensslBits)
    if (!contains(usable, b.name)) mask[b.word] |= uint64_t(1) << b.bit;
  return "~" + hex(mask[0]) + ":~" + hex(mask[1]);
}

std::vector<std::string> apply_cpu_feature_env(std::vector<std::string>& env,
                                               const std::vector<std::string>& allowed,
                                               const std::vector<std::string>& present) {
  std::vector<std::string> usable;
  for (const std::string& f : allowed)
    if (contains(present, f)) usable.push_back(f);
  std::vector<std::string> warnings;

  const std::string hwcaps = glibc_hwcaps_mask(usable);
  if (std::string* e = find_env(env, "GLIBC_TUNABLES")) {
    *e = "GLIBC_TUNABLES=" + add_glibc_hwcaps(std::string_view(*e).substr(15), hwcaps);
  } else if (!hwcaps.empty()) {
    env.push_back("GLIBC_TUNABLES=" + add_glibc_hwcaps("", hwcaps));
  }

  // The user's own value stays: it may be there to work around an OpenSSL
  // problem, and a replay uses it too.
  if (find_env(env, "OPENSSL_ia32cap")) {
    warnings.push_back(
        "OPENSSL_ia32cap is already set; keeping it, so OpenSSL may use features that "
        "--cpu-features excludes");
  } else {
    env.push_back("OPENSSL_ia32cap=" + openssl_ia32cap_mask(usable));
  }
  return warnings;
}

std::vector<std::string> missing_allowed_features(const std::vector<std::string>& missing,
                                                  const std::vector<std::string>& allowed) {
  if (allowed.empty()) return missing;
  std::vector<std::string> out;
  for (const std::string& m : missing) {
    bool stops = true;
    if (contains(kFeatureNames, m)) {
      stops = contains(allowed, m);
    } else {
      for (const XstateOwner& x : kXstateOwners)
        if (m == x.component) stops = !x.feature || contains(allowed, x.feature);
    }
    if (stops) out.push_back(m);
  }
  return out;
}

}  // namespace rwd::cpu
