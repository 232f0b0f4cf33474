#include "core/cpu/Cpuid.h"

#include <asm/prctl.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

namespace rwd::cpu {
namespace {

using trace::CpuidLeaf;

CpuidLeaf cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidLeaf r{leaf, subleaf};
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

// Bounds against firmware or hypervisors reporting nonsense maxima.
constexpr uint32_t kMaxBasicLeaf = 0xff;
constexpr uint32_t kMaxExtendedLeaf = 0x800000ff;
constexpr uint32_t kMaxSubleaf = 64;

// Appends `leaf`: subleaf 0, and for the leaves that have them the valid
// subleaves (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E).
void read_leaf(uint32_t leaf, std::vector<CpuidLeaf>& out) {
  const CpuidLeaf first = cpuid(leaf, 0);
  out.push_back(first);
  if (!first.eax && !first.ebx && !first.ecx && !first.edx) return;  // feature absent
  // Reads subleaves 1.. while `more` holds for the previous one; the last one
  // read is the terminator, which an enumerating program also reads.
  auto read_until = [&](auto more) {
    CpuidLeaf prev = first;
    for (uint32_t s = 1; s < kMaxSubleaf && more(prev); ++s) {
      prev = cpuid(leaf, s);
      out.push_back(prev);
    }
  };
  // Reads subleaves 1..n.
  auto read_count = [&](uint32_t n) {
    for (uint32_t s = 1; s <= std::min(n, kMaxSubleaf); ++s) out.push_back(cpuid(leaf, s));
  };
  // Reads the subleaves whose bit is set in `mask` (resource ids).
  auto read_mask = [&](uint32_t mask) {
    for (uint32_t s = 1; s < 32; ++s)
      if (mask & (1u << s)) out.push_back(cpuid(leaf, s));
  };
  switch (leaf) {
    case 0x4:         // deterministic cache parameters: until cache type 0
    case 0x8000001d:  // AMD cache topology: likewise
      read_until([](const CpuidLeaf& l) { return (l.eax & 0x1f) != 0; });
      break;
    case 0xb:   // extended topology: until level type (ecx[15:8]) 0
    case 0x1f:  // V2 extended topology: likewise
      read_until([](const CpuidLeaf& l) { return ((l.ecx >> 8) & 0xff) != 0; });
      break;
    case 0x7:   // structured extended features: eax = max subleaf
    case 0x14:  // processor trace
    case 0x17:  // SoC vendor attributes
    case 0x18:  // deterministic address translation
    case 0x1d:  // AMX tile information
      read_count(first.eax);
      break;
    case 0xd:  // XSAVE: subleaf i describes state component i, where supported
      for (uint32_t s = 1; s < 64; ++s) {
        const CpuidLeaf l = cpuid(leaf, s);
        if (s == 1 || l.eax || l.ebx || l.ecx || l.edx) out.push_back(l);
      }
      break;
    case 0xf:  // RDT monitoring: edx of subleaf 0 lists resource ids
      read_mask(first.edx);
      break;
    case 0x10:  // RDT allocation: ebx of subleaf 0 lists resource ids
      read_mask(first.ebx);
      break;
    case 0x12:  // SGX: subleaves 0 and 1, then EPC sections until type 0
      read_until([](const CpuidLeaf& l) { return l.subleaf < 2 || (l.eax & 0xf) != 0; });
      break;
    default:
      break;
  }
}

void read_range(uint32_t first, uint32_t last, std::vector<CpuidLeaf>& out) {
  for (uint32_t leaf = first; leaf <= last; ++leaf) read_leaf(leaf, out);
}

// --- Feature comparison -------------------------------------------------------

enum class Reg : uint8_t { Eax, Ebx, Ecx, Edx };

struct Feature {
  uint32_t leaf, subleaf;
  Reg reg;
  uint8_t bit;
  const char* name;  // as arch/x86/include/asm/cpufeatures.h names it for /proc/cpuinfo
};

// The bits that decide which instructions user space may execute. Kernel-only
// features (vmx, smep, pcid, x2apic, ...), topology and hypervisor bits are
// left out on purpose: they differ between machines without affecting replay.
// clang-format off
constexpr Feature kFeatures[] = {
  {0x1, 0, Reg::Edx, 0, "fpu"},          {0x1, 0, Reg::Edx, 4, "tsc"},
  {0x1, 0, Reg::Edx, 8, "cx8"},          {0x1, 0, Reg::Edx, 15, "cmov"},
  {0x1, 0, Reg::Edx, 19, "clflush"},     {0x1, 0, Reg::Edx, 23, "mmx"},
  {0x1, 0, Reg::Edx, 24, "fxsr"},        {0x1, 0, Reg::Edx, 25, "sse"},
  {0x1, 0, Reg::Edx, 26, "sse2"},
  {0x1, 0, Reg::Ecx, 0, "pni"},          {0x1, 0, Reg::Ecx, 1, "pclmulqdq"},
  {0x1, 0, Reg::Ecx, 9, "ssse3"},        {0x1, 0, Reg::Ecx, 12, "fma"},
  {0x1, 0, Reg::Ecx, 13, "cx16"},        {0x1, 0, Reg::Ecx, 19, "sse4_1"},
  {0x1, 0, Reg::Ecx, 20, "sse4_2"},      {0x1, 0, Reg::Ecx, 22, "movbe"},
  {0x1, 0, Reg::Ecx, 23, "popcnt"},      {0x1, 0, Reg::Ecx, 25, "aes"},
  {0x1, 0, Reg::Ecx, 26, "xsave"},       {0x1, 0, Reg::Ecx, 27, "osxsave"},
  {0x1, 0, Reg::Ecx, 28, "avx"},         {0x1, 0, Reg::Ecx, 29, "f16c"},
  {0x1, 0, Reg::Ecx, 30, "rdrand"},

  {0x7, 0, Reg::Ebx, 0, "fsgsbase"},     {0x7, 0, Reg::Ebx, 3, "bmi1"},
  {0x7, 0, Reg::Ebx, 4, "hle"},          {0x7, 0, Reg::Ebx, 5, "avx2"},
  {0x7, 0, Reg::Ebx, 8, "bmi2"},         {0x7, 0, Reg::Ebx, 9, "erms"},
  {0x7, 0, Reg::Ebx, 11, "rtm"},         {0x7, 0, Reg::Ebx, 16, "avx512f"},
  {0x7, 0, Reg::Ebx, 17, "avx512dq"},    {0x7, 0, Reg::Ebx, 18, "rdseed"},
  {0x7, 0, Reg::Ebx, 19, "adx"},         {0x7, 0, Reg::Ebx, 21, "avx512ifma"},
  {0x7, 0, Reg::Ebx, 23, "clflushopt"},  {0x7, 0, Reg::Ebx, 24, "clwb"},
  {0x7, 0, Reg::Ebx, 26, "avx512pf"},    {0x7, 0, Reg::Ebx, 27, "avx512er"},
  {0x7, 0, Reg::Ebx, 28, "avx512cd"},    {0x7, 0, Reg::Ebx, 29, "sha_ni"},
  {0x7, 0, Reg::Ebx, 30, "avx512bw"},    {0x7, 0, Reg::Ebx, 31, "avx512vl"},
  {0x7, 0, Reg::Ecx, 1, "avx512vbmi"},   {0x7, 0, Reg::Ecx, 3, "pku"},
  {0x7, 0, Reg::Ecx, 4, "ospke"},        {0x7, 0, Reg::Ecx, 5, "waitpkg"},
  {0x7, 0, Reg::Ecx, 6, "avx512_vbmi2"}, {0x7, 0, Reg::Ecx, 8, "gfni"},
  {0x7, 0, Reg::Ecx, 9, "vaes"},         {0x7, 0, Reg::Ecx, 10, "vpclmulqdq"},
  {0x7, 0, Reg::Ecx, 11, "avx512_vnni"}, {0x7, 0, Reg::Ecx, 12, "avx512_bitalg"},
  {0x7, 0, Reg::Ecx, 14, "avx512_vpopcntdq"},
  {0x7, 0, Reg::Ecx, 22, "rdpid"},       {0x7, 0, Reg::Ecx, 25, "cldemote"},
  {0x7, 0, Reg::Ecx, 27, "movdiri"},     {0x7, 0, Reg::Ecx, 28, "movdir64b"},
  {0x7, 0, Reg::Edx, 2, "avx512_4vnniw"},
  {0x7, 0, Reg::Edx, 3, "avx512_4fmaps"},
  {0x7, 0, Reg::Edx, 4, "fsrm"},         {0x7, 0, Reg::Edx, 8, "avx512_vp2intersect"},
  {0x7, 0, Reg::Edx, 14, "serialize"},   {0x7, 0, Reg::Edx, 16, "tsxldtrk"},
  {0x7, 0, Reg::Edx, 22, "amx_bf16"},    {0x7, 0, Reg::Edx, 23, "avx512_fp16"},
  {0x7, 0, Reg::Edx, 24, "amx_tile"},    {0x7, 0, Reg::Edx, 25, "amx_int8"},
  {0x7, 1, Reg::Eax, 0, "sha512"},       {0x7, 1, Reg::Eax, 1, "sm3"},
  {0x7, 1, Reg::Eax, 2, "sm4"},          {0x7, 1, Reg::Eax, 4, "avx_vnni"},
  {0x7, 1, Reg::Eax, 5, "avx512_bf16"},  {0x7, 1, Reg::Eax, 7, "cmpccxadd"},
  {0x7, 1, Reg::Eax, 10, "fzrm"},        {0x7, 1, Reg::Eax, 11, "fsrs"},
  {0x7, 1, Reg::Eax, 12, "fsrc"},        {0x7, 1, Reg::Eax, 21, "amx_fp16"},
  {0x7, 1, Reg::Eax, 23, "avx_ifma"},

  {0xd, 1, Reg::Eax, 0, "xsaveopt"},     {0xd, 1, Reg::Eax, 1, "xsavec"},
  {0xd, 1, Reg::Eax, 2, "xgetbv1"},

  {0x80000001, 0, Reg::Ecx, 0, "lahf_lm"},      {0x80000001, 0, Reg::Ecx, 5, "abm"},
  {0x80000001, 0, Reg::Ecx, 6, "sse4a"},        {0x80000001, 0, Reg::Ecx, 7, "misalignsse"},
  {0x80000001, 0, Reg::Ecx, 8, "3dnowprefetch"},{0x80000001, 0, Reg::Ecx, 11, "xop"},
  {0x80000001, 0, Reg::Ecx, 16, "fma4"},        {0x80000001, 0, Reg::Ecx, 21, "tbm"},
  {0x80000001, 0, Reg::Ecx, 29, "mwaitx"},
  {0x80000001, 0, Reg::Edx, 11, "syscall"},     {0x80000001, 0, Reg::Edx, 22, "mmxext"},
  {0x80000001, 0, Reg::Edx, 25, "fxsr_opt"},    {0x80000001, 0, Reg::Edx, 27, "rdtscp"},
  {0x80000001, 0, Reg::Edx, 29, "lm"},          {0x80000001, 0, Reg::Edx, 30, "3dnowext"},
  {0x80000001, 0, Reg::Edx, 31, "3dnow"},
};
// clang-format on

// XCR0 state components (Intel SDM vol. 1, 13.1), grouped as software enables
// them: an AVX-512 program needs opmask, ZMM_Hi256 and Hi16_ZMM together.
struct XstateGroup {
  uint64_t mask;
  const char* name;
};
constexpr XstateGroup kXstateGroups[] = {
    {1ull << 0, "xcr0: x87 state"},
    {1ull << 1, "xcr0: sse state"},
    {1ull << 2, "xcr0: avx state"},
    {(1ull << 3) | (1ull << 4), "xcr0: mpx state"},
    {(1ull << 5) | (1ull << 6) | (1ull << 7), "xcr0: avx512 state"},
    {1ull << 9, "xcr0: pkru state"},
    {(1ull << 17) | (1ull << 18), "xcr0: amx state"},
    {1ull << 19, "xcr0: apx state"},
};

// The leaf's value, or all zeros when the CPU doesn't have it (a leaf above
// the maximum reports no features).
CpuidLeaf lookup(const std::vector<CpuidLeaf>& leaves, uint32_t leaf, uint32_t subleaf) {
  for (const CpuidLeaf& l : leaves)
    if (l.leaf == leaf && l.subleaf == subleaf) return l;
  return CpuidLeaf{leaf, subleaf};
}

bool has(const std::vector<CpuidLeaf>& leaves, const Feature& f) {
  const CpuidLeaf l = lookup(leaves, f.leaf, f.subleaf);
  const uint32_t regs[] = {l.eax, l.ebx, l.ecx, l.edx};
  return (regs[int(f.reg)] >> f.bit) & 1;
}

std::string registers_as_text(std::initializer_list<uint32_t> regs) {
  std::string s;
  for (uint32_t r : regs) s.append(reinterpret_cast<const char*>(&r), sizeof r);
  return s;
}

}  // namespace

std::vector<trace::CpuidLeaf> read_all_cpuid_leaves() {
  std::vector<CpuidLeaf> out;
  const uint32_t max_basic = cpuid(0, 0).eax;
  read_range(0, std::min(max_basic, kMaxBasicLeaf), out);
  const uint32_t max_extended = cpuid(0x80000000, 0).eax;
  if (max_extended >= 0x80000000)
    read_range(0x80000000, std::min(max_extended, kMaxExtendedLeaf), out);
  return out;
}

uint64_t read_xcr0() {
  constexpr uint32_t kOsxsave = 1u << 27;       // CPUID.1:ECX.OSXSAVE
  if (!(cpuid(1, 0).ecx & kOsxsave)) return 0;  // xgetbv would raise #UD
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

std::vector<std::string> missing_features(const std::vector<trace::CpuidLeaf>& recorded,
                                          uint64_t recorded_xcr0,
                                          const std::vector<trace::CpuidLeaf>& current,
                                          uint64_t current_xcr0) {
  std::vector<std::string> missing;
  for (const Feature& f : kFeatures)
    if (has(recorded, f) && !has(current, f)) missing.push_back(f.name);
  for (const XstateGroup& g : kXstateGroups)
    if (recorded_xcr0 & g.mask & ~current_xcr0) missing.push_back(g.name);
  return missing;
}

void hide_cpuid_features(uint32_t leaf, uint32_t subleaf, std::array<uint32_t, 4>& out,
                         const std::vector<std::string>& allowed) {
  // Leaves 7 and 0xd have subleaves; the others ignore ecx, which a
  // program leaves holding anything.
  const bool by_subleaf = leaf == 0x7 || leaf == 0xd;
  auto listed = [&](const char* name) {
    return std::find(allowed.begin(), allowed.end(), name) != allowed.end();
  };
  for (const Feature& f : kFeatures) {
    if (f.leaf != leaf || (by_subleaf && f.subleaf != subleaf)) continue;
    const std::string_view name = f.name;
    bool hide = name == "rdrand" || name == "rdseed";
    // Every x86-64 CPU has these, and rewind answers rdtsc itself.
    if (!allowed.empty() && name != "tsc" && name != "clflush" && !listed(f.name)) hide = true;
    if (hide) out[int(f.reg)] &= ~(1u << f.bit);
  }
}

std::string describe_cpu(const std::vector<trace::CpuidLeaf>& leaves) {
  const CpuidLeaf l0 = lookup(leaves, 0, 0);
  if (l0.eax == 0 && l0.ebx == 0) return "unknown CPU";
  std::string s = registers_as_text({l0.ebx, l0.edx, l0.ecx});  // "GenuineIntel"

  // Family, model and stepping with the extended fields folded in, as the
  // SDM (vol. 2A, CPUID leaf 1) and Linux's x86_family()/x86_model() do.
  const uint32_t sig = lookup(leaves, 1, 0).eax;
  uint32_t family = (sig >> 8) & 0xf, model = (sig >> 4) & 0xf;
  if (family == 0xf) family += (sig >> 20) & 0xff;
  if (family >= 0x6) model += ((sig >> 16) & 0xf) << 4;
  s += " family " + std::to_string(family) + " model " + std::to_string(model) + " stepping " +
       std::to_string(sig & 0xf);

  std::string brand;
  for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; ++leaf) {
    const CpuidLeaf l = lookup(leaves, leaf, 0);
    brand += registers_as_text({l.eax, l.ebx, l.ecx, l.edx});
  }
  brand.resize(std::strlen(brand.c_str()));  // NUL-padded
  const size_t first = brand.find_first_not_of(' ');
  if (first != std::string::npos) {
    const size_t last = brand.find_last_not_of(' ');
    s += ": " + brand.substr(first, last - first + 1);
  }
  return s;
}

bool cpuid_faulting_available() {
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    // Only async-signal-safe calls here: the parent may have threads.
    if (syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0) < 0) _exit(2);  // kernel < 4.12
    _exit(syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0 ? 0 : 1);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace rwd::cpu
