// Test-only: makes a trace look as if it was recorded on a CPU with one
// feature this CPU lacks, by setting that feature's bit in the recorded
// CPUID leaf 7 (structured extended features) of the trace's header.
// Prints the names missing_features() now reports. Run it on a copy.
//
// usage: cpuid_mismatch TRACE_DIR
#include <cstdio>

#include "core/cpu/Cpuid.h"
#include "core/trace/TraceReader.h"
#include "core/trace/TraceWriter.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: cpuid_mismatch TRACE_DIR\n");
    return 2;
  }
  auto reader = rwd::trace::TraceReader::open(argv[1]);
  if (!reader) {
    fprintf(stderr, "cpuid_mismatch: %s\n", reader.error().message.c_str());
    return 1;
  }
  rwd::trace::TraceHeader h = (*reader)->header();
  const auto current = rwd::cpu::read_all_cpuid_leaves();
  const uint64_t xcr0 = rwd::cpu::read_xcr0();
  for (auto& leaf : h.cpuid) {
    if (leaf.leaf != 7 || leaf.subleaf != 0) continue;
    for (uint32_t* reg : {&leaf.ebx, &leaf.ecx, &leaf.edx}) {
      for (int bit = 0; bit < 32; ++bit) {
        const uint32_t saved = *reg;
        *reg |= 1u << bit;
        auto missing = rwd::cpu::missing_features(h.cpuid, h.xcr0, current, xcr0);
        if (!missing.empty()) {
          auto r = rwd::trace::replace_header(argv[1], h);
          if (!r) {
            fprintf(stderr, "cpuid_mismatch: %s\n", r.error().message.c_str());
            return 1;
          }
          for (auto& f : missing) printf("%s\n", f.c_str());
          return 0;
        }
        *reg = saved;
      }
    }
  }
  fprintf(stderr, "cpuid_mismatch: found no leaf-7 feature this CPU lacks\n");
  return 1;
}
