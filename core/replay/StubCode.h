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

namespace rwd {

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

}  // namespace rwd
