#define BOOST_TEST_MODULE cpu_features
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/cpu/CpuFeatures.h"
#include "core/cpu/Cpuid.h"

using namespace rwd;
using namespace rwd::cpu;
using trace::CpuidLeaf;
using Names = std::vector<std::string>;

namespace {

bool has(const Names& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Names expand(const std::string& spec) {
  auto r = expand_cpu_features(spec);
  BOOST_REQUIRE_MESSAGE(r.ok(), spec << ": " << (r.ok() ? "" : r.error().message));
  return *r;
}

// The items of a glibc.cpu.hwcaps value.
Names items(const std::string& hwcaps) {
  Names out;
  size_t pos = 0;
  while (pos <= hwcaps.size() && !hwcaps.empty()) {
    size_t comma = hwcaps.find(',', pos);
    if (comma == std::string::npos) comma = hwcaps.size();
    out.push_back(hwcaps.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

}  // namespace

// The replay check compares cpu::missing_features() names with the names
// --cpu-features accepts: the two tables must name the same features.
BOOST_AUTO_TEST_CASE(feature_names_are_missing_features_names) {
  const std::vector<CpuidLeaf> everything = {
      {1, 0, ~0u, ~0u, ~0u, ~0u},   {7, 0, ~0u, ~0u, ~0u, ~0u},          {7, 1, ~0u, ~0u, ~0u, ~0u},
      {0xd, 1, ~0u, ~0u, ~0u, ~0u}, {0x80000001, 0, ~0u, ~0u, ~0u, ~0u},
  };
  BOOST_TEST(missing_features(everything, 0, {}, 0) == cpu_feature_names(),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(levels_nest_and_list_the_psabi_features) {
  BOOST_TEST(cpu_level_names() == (Names{"x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4"}),
             boost::test_tools::per_element());
  BOOST_TEST(expand("x86-64-v1") ==
                 (Names{"fpu", "cx8", "cmov", "mmx", "fxsr", "sse", "sse2", "syscall", "lm"}),
             boost::test_tools::per_element());
  const Names v2 = expand("x86-64-v2"), v3 = expand("x86-64-v3"), v4 = expand("x86-64-v4");
  for (const char* f : {"cx16", "lahf_lm", "pni", "popcnt", "sse4_1", "sse4_2", "ssse3"})
    BOOST_TEST(has(v2, f), f);
  BOOST_TEST(!has(v2, "avx"));
  for (const char* f :
       {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave", "osxsave"})
    BOOST_TEST(has(v3, f), f);
  BOOST_TEST(!has(v3, "avx512f"));
  BOOST_TEST(!has(v3, "xsavec"));  // not in the psABI levels
  for (const char* f : {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})
    BOOST_TEST(has(v4, f), f);
  for (const Names* lower : {&v2, &v3})
    for (const std::string& f : *lower) BOOST_TEST(has(v4, f), f);
  BOOST_TEST(!has(v4, "erms"));
  BOOST_TEST(!has(v4, "aes"));
}

BOOST_AUTO_TEST_CASE(lists_are_unions_with_what_each_feature_needs) {
  const Names n = expand("x86-64-v2,AVX2");
  for (const char* f : {"sse4_2", "avx2", "avx", "xsave", "osxsave", "fxsr", "fpu"})
    BOOST_TEST(has(n, f), f);
  BOOST_TEST(!has(n, "fma"));
  BOOST_TEST(!has(n, "avx512f"));
  // A feature alone still gets x86-64-v1; aliases name the /proc/cpuinfo name.
  const Names l = expand("lzcnt");
  BOOST_TEST(has(l, "abm"));
  BOOST_TEST(has(l, "sse2"));
  BOOST_TEST(!has(l, "lzcnt"));
  BOOST_TEST(has(expand("avx512_fp16"), "avx512bw"));
  // No duplicates.
  Names v = expand("x86-64-v3,x86-64-v2,avx,avx");
  Names sorted = v;
  std::sort(sorted.begin(), sorted.end());
  BOOST_TEST((std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()));
  BOOST_TEST(v == expand("x86-64-v3"), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unknown_names_are_errors_naming_them) {
  for (const char* spec : {"x86-64-v5", "avx,bogus_feature", "", "avx,", "x86-64-v2,,avx"}) {
    auto r = expand_cpu_features(spec);
    BOOST_TEST(!r.ok(), spec);
    if (!r.ok()) BOOST_TEST_MESSAGE(spec << ": " << r.error().message);
  }
  BOOST_TEST(expand_cpu_features("x86-64-v5").error().message.find("'x86-64-v5'") !=
             std::string::npos);
  BOOST_TEST(expand_cpu_features("avx,Bogus").error().message.find("'Bogus'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(list_names_every_level_and_feature) {
  const std::string s = describe_cpu_feature_choices();
  for (const std::string& l : cpu_level_names()) BOOST_TEST(s.find(l) != std::string::npos, l);
  for (const std::string& f : cpu_feature_names())
    BOOST_TEST(s.find(" " + f) != std::string::npos, f);
}

BOOST_AUTO_TEST_CASE(glibc_mask_turns_off_what_is_not_usable) {
  const Names v1 = items(glibc_hwcaps_mask(expand("x86-64-v1")));
  // Every CPU feature glibc 2.36's tunable can turn off, but the baseline.
  for (const char* g : {"AVX",      "AVX2",     "FMA",      "FMA4",     "BMI1",     "BMI2",
                        "LZCNT",    "MOVBE",    "POPCNT",   "SSE4_1",   "SSE4_2",   "SSSE3",
                        "ERMS",     "RTM",      "XSAVE",    "XSAVEC",   "OSXSAVE",  "AVX512F",
                        "AVX512BW", "AVX512CD", "AVX512DQ", "AVX512ER", "AVX512PF", "AVX512VL"})
    BOOST_TEST(has(v1, std::string("-") + g), g);
  for (const char* g : {"-CX8", "-CMOV", "-SSE2"}) BOOST_TEST(!has(v1, g), g);

  const Names v3 = items(glibc_hwcaps_mask(expand("x86-64-v3")));
  for (const char* g : {"-AVX512F", "-AVX512VL", "-XSAVEC", "-ERMS", "-RTM"})
    BOOST_TEST(has(v3, g), g);
  for (const char* g : {"-AVX", "-AVX2", "-FMA", "-LZCNT", "-XSAVE", "-OSXSAVE", "-POPCNT"})
    BOOST_TEST(!has(v3, g), g);

  BOOST_TEST(glibc_hwcaps_mask(cpu_feature_names()).empty());
}

BOOST_AUTO_TEST_CASE(glibc_tunables_are_extended_not_replaced) {
  BOOST_TEST(add_glibc_hwcaps("", "-AVX,-AVX2") == "glibc.cpu.hwcaps=-AVX,-AVX2");
  BOOST_TEST(add_glibc_hwcaps("glibc.malloc.check=3", "-AVX") ==
             "glibc.malloc.check=3:glibc.cpu.hwcaps=-AVX");
  BOOST_TEST(add_glibc_hwcaps("glibc.malloc.check=3:", "-AVX") ==
             "glibc.malloc.check=3:glibc.cpu.hwcaps=-AVX");
  // glibc uses only the last glibc.cpu.hwcaps: ours go into it.
  BOOST_TEST(add_glibc_hwcaps("glibc.cpu.hwcaps=-ERMS:glibc.malloc.check=3", "-AVX") ==
             "glibc.cpu.hwcaps=-ERMS,-AVX:glibc.malloc.check=3");
  BOOST_TEST(add_glibc_hwcaps("glibc.cpu.hwcaps=-ERMS:glibc.cpu.hwcaps=-RTM", "-AVX") ==
             "glibc.cpu.hwcaps=-ERMS:glibc.cpu.hwcaps=-RTM,-AVX");
  BOOST_TEST(add_glibc_hwcaps("glibc.cpu.hwcaps=", "-AVX") == "glibc.cpu.hwcaps=-AVX");
  BOOST_TEST(add_glibc_hwcaps("glibc.cpu.hwcap_mask=0", "-AVX") ==
             "glibc.cpu.hwcap_mask=0:glibc.cpu.hwcaps=-AVX");
  BOOST_TEST(add_glibc_hwcaps("glibc.malloc.check=3", "") == "glibc.malloc.check=3");
}

BOOST_AUTO_TEST_CASE(openssl_mask_clears_documented_bits) {
  BOOST_TEST(openssl_ia32cap_mask(cpu_feature_names()) == "~0x0:~0x0");
  // x86-64-v3 allows none of pclmulqdq (33), xop (43), aes (57), rdrand (62);
  // nor, in CPUID.(7,0), avx512f (16), rdseed (18), adx (19), avx512ifma (21),
  // sha_ni (29), avx512bw (30), avx512vl (31), vaes (32+9), vpclmulqdq (32+10).
  const uint64_t w0 = (1ull << 33) | (1ull << 43) | (1ull << 57) | (1ull << 62);
  const uint64_t w1 = (1ull << 16) | (1ull << 18) | (1ull << 19) | (1ull << 21) | (1ull << 29) |
                      (1ull << 30) | (1ull << 31) | (1ull << 41) | (1ull << 42);
  char expect[64];
  std::snprintf(expect, sizeof expect, "~0x%llx:~0x%llx", static_cast<unsigned long long>(w0),
                static_cast<unsigned long long>(w1));
  BOOST_TEST(openssl_ia32cap_mask(expand("x86-64-v3")) == expect);
  // x86-64-v1 also clears ssse3, movbe, xsave, osxsave, avx, bmi1, avx2, bmi2.
  const uint64_t v1w0 = w0 | (1ull << 41) | (1ull << 54) | (7ull << 58);
  const uint64_t v1w1 = w1 | (1ull << 3) | (1ull << 5) | (1ull << 8);
  std::snprintf(expect, sizeof expect, "~0x%llx:~0x%llx", static_cast<unsigned long long>(v1w0),
                static_cast<unsigned long long>(v1w1));
  BOOST_TEST(openssl_ia32cap_mask(expand("x86-64-v1")) == expect);
}

BOOST_AUTO_TEST_CASE(environment_masks_what_is_not_allowed_or_not_present) {
  const Names v3 = expand("x86-64-v3");
  Names present = cpu_feature_names();
  present.erase(std::find(present.begin(), present.end(), "avx2"));

  Names env = {"PATH=/bin", "GLIBC_TUNABLES=glibc.malloc.check=3"};
  const Names warnings = apply_cpu_feature_env(env, v3, present);
  BOOST_TEST(warnings.empty());
  BOOST_REQUIRE(env.size() == 3u);
  BOOST_TEST(env[0] == "PATH=/bin");
  // avx2 is allowed but this CPU lacks it: masked all the same, so that a
  // replay on a CPU with AVX2 chooses as the recording did.
  Names present_v3;
  for (const std::string& f : v3)
    if (f != "avx2") present_v3.push_back(f);
  BOOST_TEST(env[1] == "GLIBC_TUNABLES=glibc.malloc.check=3:glibc.cpu.hwcaps=" +
                           glibc_hwcaps_mask(present_v3));
  BOOST_TEST(has(items(glibc_hwcaps_mask(present_v3)), "-AVX2"));
  BOOST_TEST(env[2] == "OPENSSL_ia32cap=" + openssl_ia32cap_mask(present_v3));

  // The user's OPENSSL_ia32cap stays, with a warning.
  Names env2 = {"OPENSSL_ia32cap=~0x200000000000000"};
  const Names w2 = apply_cpu_feature_env(env2, expand("x86-64-v1"), present);
  BOOST_TEST(w2.size() == 1u);
  BOOST_REQUIRE(env2.size() == 2u);
  BOOST_TEST(env2[0] == "OPENSSL_ia32cap=~0x200000000000000");
  BOOST_TEST(env2[1].rfind("GLIBC_TUNABLES=glibc.cpu.hwcaps=-", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(missing_features_outside_the_allowed_set_do_not_stop_replay) {
  const Names missing = {
      "sse4_2",          "avx2",         "avx512f", "xcr0: avx state", "xcr0: avx512 state",
      "xcr0: apx state", "something new"};
  // Without --cpu-features everything counts.
  BOOST_TEST(missing_allowed_features(missing, {}) == missing, boost::test_tools::per_element());
  BOOST_TEST(missing_allowed_features(missing, expand("x86-64-v1")) ==
                 (Names{"xcr0: apx state", "something new"}),
             boost::test_tools::per_element());
  BOOST_TEST(missing_allowed_features(missing, expand("x86-64-v3")) ==
                 (Names{"sse4_2", "avx2", "xcr0: avx state", "xcr0: apx state", "something new"}),
             boost::test_tools::per_element());
  BOOST_TEST(missing_allowed_features(missing, expand("x86-64-v4")) ==
                 (Names{"sse4_2", "avx2", "avx512f", "xcr0: avx state", "xcr0: avx512 state",
                        "xcr0: apx state", "something new"}),
             boost::test_tools::per_element());
  BOOST_TEST(missing_allowed_features({"xcr0: sse state"}, expand("x86-64-v1")) ==
                 Names{"xcr0: sse state"},
             boost::test_tools::per_element());
}

// The XCR0 components missing_features() names, each tied to its feature.
BOOST_AUTO_TEST_CASE(xcr0_components_follow_their_features) {
  const auto leaves = read_all_cpuid_leaves();
  Names components = missing_features(leaves, ~0ull, leaves, 0);
  BOOST_TEST(
      missing_allowed_features(components, expand("x86-64-v1")) ==
          (Names{"xcr0: x87 state", "xcr0: sse state", "xcr0: mpx state", "xcr0: apx state"}),
      boost::test_tools::per_element());
  BOOST_TEST(missing_allowed_features(components, expand("x86-64-v4,pku,amx_tile")) == components,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(this_cpus_features) {
  const Names f = cpu_features_of(read_all_cpuid_leaves());
  for (const char* baseline : {"fpu", "cx8", "cmov", "sse", "sse2", "lm", "syscall"})
    BOOST_TEST(has(f, baseline), baseline);
  for (const std::string& n : f) BOOST_TEST(has(cpu_feature_names(), n), n);
  std::string line;
  for (const std::string& n : f) line += " " + n;
  BOOST_TEST_MESSAGE("this CPU:" << line);
}
