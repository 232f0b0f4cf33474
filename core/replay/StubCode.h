// Machine code for the stubs replay patches into tracees (PreemptStub.h,
// CountedSites.h): an emitter that knows the address its code will run at,
// and where a stub page can go.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/base/Error.h"

namespace rwd {

class Task;

// Within reach of a jmp rel32 and a displaced instruction's rip-relative
// operand, with room to spare.
constexpr uint64_t kMaxStubDistance = uint64_t(1) << 30;

// Appends machine code for a stub at a known address.
class Emitter {
 public:
  explicit Emitter(uint64_t base) : base_(base) {}
  uint64_t here() const { return base_ + code_.size(); }
  void bytes(std::initializer_list<uint8_t> b) { code_.insert(code_.end(), b); }
  void bytes(const std::vector<uint8_t>& b) { code_.insert(code_.end(), b.begin(), b.end()); }
  // A rel32 field ending the instruction: relative to the end of the field.
  void rel32(uint64_t target) {
    int32_t d = static_cast<int32_t>(static_cast<int64_t>(target - (here() + 4)));
    append32(d);
  }
  // A rel32 field whose target comes later; fill with bind().
  size_t forward32() {
    size_t at = code_.size();
    append32(0);
    return at;
  }
  void bind(size_t field) {
    int32_t d = static_cast<int32_t>(code_.size() - (field + 4));
    std::memcpy(&code_[field], &d, 4);
  }
  const std::vector<uint8_t>& code() const { return code_; }

 private:
  void append32(int32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    code_.insert(code_.end(), b, b + 4);
  }
  uint64_t base_;
  std::vector<uint8_t> code_;
};

// Free pages within kMaxStubDistance of pc, nearest first, each with a free
// page on either side.
std::vector<uint64_t> candidate_pages(
    pid_t tid, uint64_t pc, const std::vector<std::pair<uint64_t, uint64_t>>& reserved = {});
// Maps one read-write-execute page for a stub near `pc` (the first of
// candidate_pages() that is still free), through a syscall injected into
// the stopped `task`; 0 if none is.
Result<uint64_t> map_stub_page(Task& task, uint64_t pc,
                               const std::vector<std::pair<uint64_t, uint64_t>>& reserved = {});

// Shared pieces of the state-comparing stubs (PreemptStub, CountedSites).
// Compares the 16 general registers with the words at `expected` (8 bytes
// each, x86 register order), calling `jne_miss` after each compare to emit
// the branch taken on a difference. Registers whose bit is set in `skip`
// are not compared (the tracer's comparison after the trap decides).
template <class JneMiss>
void emit_compare_gprs(Emitter& e, uint64_t expected, const JneMiss& jne_miss, uint32_t skip = 0) {
  for (int n = 0; n < 16; ++n) {
    if (skip & (1u << n)) continue;
    // cmp reg, [rip+expected[n]]
    e.bytes({static_cast<uint8_t>(0x48 | (n >= 8 ? 0x04 : 0)), 0x3b,
             static_cast<uint8_t>(0x05 | ((n & 7) << 3))});
    e.rel32(expected + 8 * n);
    jne_miss();
  }
}
// Puts back the arithmetic flags saved as ax (lahf; seto al) at
// `saved_flags`: add al, 0x7f sets OF exactly when al was 1, sahf the rest.
// Clobbers ax.
inline void emit_restore_flags(Emitter& e, uint64_t saved_flags) {
  e.bytes({0x66, 0x8b, 0x05});  // mov ax, [rip+saved_flags]
  e.rel32(saved_flags);
  e.bytes({0x04, 0x7f, 0x9e});  // add al, 0x7f; sahf
}

}  // namespace rwd
