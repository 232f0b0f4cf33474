// The syscall table as the preload library sees it: plain data generated
// from core/syscalls/SyscallTable.cc (gen_preload_rules), with the values of
// its enums and flags mirrored here and checked by the generated header.
#pragma once

#include <stdint.h>

namespace rwd::preload {

// sys::SizeRule.
enum SizeRule : int8_t { kNone, kFixed, kRet, kRetTimes, kArg, kArgTimes, kDerefArg, kFdSetBits };
// sys::SyscallFlag bits the library reads.
constexpr uint32_t kMayBlock = 1u << 0;
constexpr uint32_t kBuffered = 1u << 3;
constexpr uint32_t kArgsChecked = 1u << 4;
constexpr uint32_t kReplayExecutes = 1u << 5;
constexpr uint32_t kFdArg0 = 1u << 6;

struct OutRule {
  int8_t arg;
  int8_t rule;
  int8_t size_arg;
  uint32_t n;
};

struct BufferRule {
  int nr;
  uint32_t flags;
  int has_handler;  // outputs beyond the generic rules: the library must know the syscall
  OutRule outs[4];
};

}  // namespace rwd::preload
