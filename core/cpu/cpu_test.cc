#define BOOST_TEST_MODULE cpu
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>

#include "core/cpu/CpuFeatures.h"
#include "core/cpu/Cpuid.h"

using namespace rwd;
using namespace rwd::cpu;
using trace::CpuidLeaf;

namespace {

CpuidLeaf& leaf(std::vector<CpuidLeaf>& leaves, uint32_t nr, uint32_t subleaf) {
  for (CpuidLeaf& l : leaves)
    if (l.leaf == nr && l.subleaf == subleaf) return l;
  leaves.push_back(CpuidLeaf{nr, subleaf});
  return leaves.back();
}

constexpr uint32_t kAvx2 = 1u << 5;  // CPUID.(7,0):EBX

}  // namespace

BOOST_AUTO_TEST_CASE(reads_this_machines_leaves) {
  const std::vector<CpuidLeaf> leaves = read_all_cpuid_leaves();
  BOOST_REQUIRE(!leaves.empty());
  BOOST_TEST(leaves[0].leaf == 0u);
  BOOST_TEST(leaves[0].eax >= 1u);  // every x86-64 CPU has leaf 1
  const std::string desc = describe_cpu(leaves);
  BOOST_TEST_MESSAGE("CPU: " << desc << "; " << leaves.size() << " leaves");
  const std::string vendor = desc.substr(0, 12);
  BOOST_TEST(std::all_of(vendor.begin(), vendor.end(), [](char c) { return c >= ' ' && c < 127; }));

  // Sorted by (leaf, subleaf), without duplicates, and with leaf 1 present.
  for (size_t i = 1; i < leaves.size(); ++i)
    BOOST_TEST((std::tie(leaves[i - 1].leaf, leaves[i - 1].subleaf) <
                std::tie(leaves[i].leaf, leaves[i].subleaf)));
  BOOST_TEST(std::any_of(leaves.begin(), leaves.end(), [](auto& l) { return l.leaf == 1; }));
  // Extended leaves: x86-64 itself is reported in 0x80000001 (lm).
  BOOST_TEST(std::any_of(leaves.begin(), leaves.end(),
                         [](auto& l) { return l.leaf == 0x80000001 && (l.edx & (1u << 29)); }));
  // Leaf 7's subleaf count follows eax of subleaf 0.
  const auto l7 = std::find_if(leaves.begin(), leaves.end(), [](auto& l) { return l.leaf == 7; });
  if (l7 != leaves.end())
    BOOST_TEST(std::count_if(leaves.begin(), leaves.end(), [](auto& l) { return l.leaf == 7; }) ==
               long(l7->eax) + 1);
}

BOOST_AUTO_TEST_CASE(xcr0_has_x87_and_sse_when_xsave_is_enabled) {
  const uint64_t xcr0 = read_xcr0();
  BOOST_TEST_MESSAGE("XCR0 = 0x" << std::hex << xcr0);
  if (xcr0 != 0) BOOST_TEST((xcr0 & 3) == 3u);
}

BOOST_AUTO_TEST_CASE(identical_cpus_miss_nothing) {
  const auto leaves = read_all_cpuid_leaves();
  BOOST_TEST(missing_features(leaves, read_xcr0(), leaves, read_xcr0()).empty());
}

BOOST_AUTO_TEST_CASE(a_cleared_feature_is_named) {
  std::vector<CpuidLeaf> recorded = read_all_cpuid_leaves();
  leaf(recorded, 7, 0).ebx |= kAvx2;  // whatever this machine has
  std::vector<CpuidLeaf> current = recorded;
  leaf(current, 7, 0).ebx &= ~kAvx2;
  BOOST_TEST(missing_features(recorded, 0x7, current, 0x7) == std::vector<std::string>{"avx2"},
             boost::test_tools::per_element());
  // The other direction (replaying on a bigger CPU) is fine.
  BOOST_TEST(missing_features(current, 0x7, recorded, 0x7).empty());
}

BOOST_AUTO_TEST_CASE(a_missing_leaf_means_missing_features) {
  std::vector<CpuidLeaf> recorded = {{0, 0, 7}, {7, 0, 0, (1u << 29) | (1u << 19)}};
  std::vector<CpuidLeaf> current = {{0, 0, 1}};
  BOOST_TEST(
      missing_features(recorded, 0, current, 0) == (std::vector<std::string>{"adx", "sha_ni"}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ignores_bits_that_dont_affect_user_space) {
  std::vector<CpuidLeaf> recorded = {{1, 0, 0, 0x12345678, (1u << 31) | (1u << 5), 1u << 28}};
  std::vector<CpuidLeaf> current = {{1, 0, 0, 0, 0, 0}};  // no hypervisor, vmx, ht, apic ids
  BOOST_TEST(missing_features(recorded, 0, current, 0).empty());
}

BOOST_AUTO_TEST_CASE(xcr0_components_are_reported) {
  const std::vector<CpuidLeaf> leaves = read_all_cpuid_leaves();
  BOOST_TEST(missing_features(leaves, 0xe7, leaves, 0x07) ==
                 std::vector<std::string>{"xcr0: avx512 state"},
             boost::test_tools::per_element());
  BOOST_TEST(
      missing_features(leaves, 0x207, leaves, 0x07) == std::vector<std::string>{"xcr0: pkru state"},
      boost::test_tools::per_element());
  BOOST_TEST(missing_features(leaves, 0x07, leaves, 0xe7).empty());
}

BOOST_AUTO_TEST_CASE(describes_synthetic_cpu) {
  // "GenuineIntel" in ebx, edx, ecx; family 6 model 0x8f stepping 8.
  std::vector<CpuidLeaf> leaves = {{0, 0, 0x20, 0x756e6547, 0x6c65746e, 0x49656e69},
                                   {1, 0, 0x000806f8}};
  const char brand[49] = "  Test CPU @ 2.00GHz";
  for (uint32_t i = 0; i < 3; ++i) {
    CpuidLeaf l{0x80000002 + i, 0};
    std::memcpy(&l.eax, brand + 16 * i, 16);
    leaves.push_back(l);
  }
  BOOST_TEST(describe_cpu(leaves) ==
             "GenuineIntel family 6 model 143 stepping 8: Test CPU @ 2.00GHz");
  BOOST_TEST(describe_cpu({}) == "unknown CPU");
}

BOOST_AUTO_TEST_CASE(cpuid_faulting_probe_leaves_this_process_alone) {
  const bool available = cpuid_faulting_available();
  BOOST_TEST_MESSAGE("CPUID faulting available: " << available);
  // CPUID still works here, whatever the child did.
  BOOST_TEST(!read_all_cpuid_leaves().empty());
}

BOOST_AUTO_TEST_CASE(recorded_cpuid_answers_hide_rdrand_and_disallowed_features) {
  const std::array<uint32_t, 4> all = {~0u, ~0u, ~0u, ~0u};
  auto hidden = [&](uint32_t nr, uint32_t subleaf, const std::vector<std::string>& allowed) {
    std::array<uint32_t, 4> out = all;
    hide_cpuid_features(nr, subleaf, out, allowed);
    return std::array<uint32_t, 4>{~out[0], ~out[1], ~out[2], ~out[3]};  // the cleared bits
  };
  using A = std::array<uint32_t, 4>;
  // Without --cpu-features: rdrand (1:ECX[30]) and rdseed (7.0:EBX[18])
  // only, whatever ecx holds for a leaf without subleaves.
  BOOST_TEST((hidden(1, 0x12345, {}) == A{0, 0, 1u << 30, 0}));
  BOOST_TEST((hidden(7, 0, {}) == A{0, 1u << 18, 0, 0}));
  BOOST_TEST((hidden(7, 1, {}) == A{0, 0, 0, 0}));
  BOOST_TEST((hidden(0xb, 0, {}) == A{0, 0, 0, 0}));  // topology: untouched
  // x86-64-v2: AVX (1:ECX[28]), AVX2 (7.0:EBX[5]), AES (1:ECX[25]) go;
  // SSE4.2 (1:ECX[20]), TSC (1:EDX[4]) and LAHF (0x80000001:ECX[0]) stay.
  auto v2 = expand_cpu_features("x86-64-v2");
  BOOST_REQUIRE(v2);
  const A leaf1 = hidden(1, 0, *v2);
  BOOST_TEST((leaf1[2] & (1u << 28)) != 0u);
  BOOST_TEST((leaf1[2] & (1u << 25)) != 0u);
  BOOST_TEST((leaf1[2] & (1u << 30)) != 0u);
  BOOST_TEST((leaf1[2] & (1u << 20)) == 0u);
  BOOST_TEST((leaf1[3] & (1u << 4)) == 0u);
  BOOST_TEST((hidden(7, 0, *v2)[1] & kAvx2) != 0u);
  BOOST_TEST((hidden(0x80000001, 0, *v2)[2] & 1u) == 0u);
}
