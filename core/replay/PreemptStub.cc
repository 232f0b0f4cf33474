#include "core/replay/PreemptStub.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>

#include "core/base/Log.h"
#include "core/cpu/Insn.h"
#include "core/replay/StubCode.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {

// Page layout: code from offset 0, the expected values and saved registers
// from kData.
constexpr uint64_t kData = 0x800;
constexpr uint64_t kExpected = kData;             // 16 registers, by encoding number
constexpr uint64_t kExpectedFlags = kData + 128;  // 16 bits, see below
constexpr uint64_t kSavedRax = kData + 136;
constexpr uint64_t kSavedFlags = kData + 144;
constexpr uint64_t kWords = kData + 152;  // expected loop words
constexpr size_t kMaxWords = 32;
constexpr uint64_t kFastExpected = kWords + 8 * kMaxWords;  // negated, for the fast path
constexpr uint64_t kSavedRcx = kFastExpected + 8;
constexpr uint64_t kSavedRdx = kFastExpected + 16;

}  // namespace

Result<std::unique_ptr<PreemptStub>> PreemptStub::install(
    Task& task, const user_regs_struct& want, const std::vector<trace::LoopWord>& words,
    uint16_t loop_regs, size_t span, const std::vector<std::pair<uint64_t, uint64_t>>& reserved) {
  if (words.size() > kMaxWords) return std::unique_ptr<PreemptStub>();
  const uint64_t pc = want.rip;
  uint8_t code[32] = {};
  size_t got = task.as().read_partial(RemotePtr(pc), code, sizeof code);
  auto insn = decode_insn(code, got);
  if (!insn || !task.as().has_stub_page) return std::unique_ptr<PreemptStub>();
  // The bytes the jmp displaces: the instruction at pc, or the few after
  // it too when it is shorter than the jmp (`span`, checked by the caller).
  const size_t covered = insn->cls == InsnClass::Patchable ? insn->length
                         : span >= 5 && span <= got        ? span
                                                           : 0;
  if (!covered) return std::unique_ptr<PreemptStub>();
  for (uint64_t a = pc; a < pc + covered; ++a)
    if (task.as().has_breakpoint(a)) return std::unique_ptr<PreemptStub>();
  // Nor over a counted breakpoint's patch (CountedSites.h).
  const auto& patches = task.as().code_patches;
  for (auto it = patches.lower_bound(pc > 16 ? pc - 16 : 0);
       it != patches.end() && it->first < pc + covered; ++it)
    if (it->first + it->second.size() > pc) return std::unique_ptr<PreemptStub>();

  auto mapped = map_stub_page(task, pc, reserved);
  if (!mapped) return mapped.error();
  const uint64_t page = *mapped;
  if (!page) return std::unique_ptr<PreemptStub>();

  std::unique_ptr<PreemptStub> stub(new PreemptStub());
  stub->pc_ = pc;
  stub->insn_length_ = covered;
  stub->page_ = page;
  stub->original_.assign(code, code + 5);

  Emitter e(page);
  std::vector<size_t> to_resume;
  // The fast path: one value the loop changes every iteration, tested
  // without touching the flags (lea computes value - expected, jrcxz tests
  // it), so most iterations cost a handful of instructions.
  int fast_reg = -1;
  for (int n = 0; n < 16 && fast_reg < 0; ++n)
    if (n != 1 && (loop_regs >> n) & 1) fast_reg = n;
  if (fast_reg < 0 && (loop_regs & 2)) fast_reg = 1;
  const bool fast_word = fast_reg < 0 && !words.empty() &&
                         static_cast<int64_t>(words[0].value) > INT32_MIN &&
                         static_cast<int64_t>(words[0].value) <= INT32_MAX;
  uint64_t fast_expected = 0;
  if (fast_reg >= 0 || fast_word) {
    e.bytes({0x48, 0x89, 0x0d});  // mov [rip+saved_rcx], rcx
    e.rel32(page + kSavedRcx);
    if (fast_reg == 1) {
      fast_expected = -want.rcx;
      e.bytes({0x48, 0x89, 0x15});  // mov [rip+saved_rdx], rdx
      e.rel32(page + kSavedRdx);
      e.bytes({0x48, 0x8b, 0x15});  // mov rdx, [rip+fast_expected]
      e.rel32(page + kFastExpected);
      e.bytes({0x48, 0x8d, 0x4c, 0x11, 0x00});  // lea rcx, [rcx + rdx]
      e.bytes({0x48, 0x8b, 0x15});              // mov rdx, [rip+saved_rdx]
      e.rel32(page + kSavedRdx);
    } else if (fast_reg >= 0) {
      fast_expected = -gpr_by_number(want, fast_reg);
      e.bytes({0x48, 0x8b, 0x0d});  // mov rcx, [rip+fast_expected]
      e.rel32(page + kFastExpected);
      // lea rcx, [reg + rcx]
      e.bytes({static_cast<uint8_t>(0x48 | (fast_reg >= 8 ? 0x01 : 0)), 0x8d, 0x4c,
               static_cast<uint8_t>(0x08 | (fast_reg & 7)), 0x00});
    } else {
      e.bytes({0x48, 0xb9});  // mov rcx, addr
      uint8_t addr[8];
      std::memcpy(addr, &words[0].addr, 8);
      e.bytes(std::vector<uint8_t>(addr, addr + 8));
      e.bytes({0x48, 0x8b, 0x09, 0x48, 0x8d, 0x89});  // mov rcx, [rcx]; lea rcx, [rcx - value]
      const int32_t minus = -static_cast<int32_t>(words[0].value);
      uint8_t d[4];
      std::memcpy(d, &minus, 4);
      e.bytes({d[0], d[1], d[2], d[3]});
    }
    e.bytes({0xe3, 12});          // jrcxz candidate (past the next 12 bytes)
    e.bytes({0x48, 0x8b, 0x0d});  // mov rcx, [rip+saved_rcx]
    e.rel32(page + kSavedRcx);
    e.bytes({0xe9});  // jmp resume
    to_resume.push_back(e.forward32());
    e.bytes({0x48, 0x8b, 0x0d});  // candidate: mov rcx, [rip+saved_rcx]
    e.rel32(page + kSavedRcx);
  }
  // The full test. No stack: lahf/seto save the arithmetic flags in ax
  // (pushf/popf cost tens of cycles, and the program's red zone must stay
  // untouched).
  e.bytes({0x48, 0x89, 0x05});  // mov [rip+saved_rax], rax
  e.rel32(page + kSavedRax);
  e.bytes({0x9f, 0x0f, 0x90, 0xc0});  // lahf; seto al
  e.bytes({0x66, 0x89, 0x05});        // mov [rip+saved_flags], ax
  e.rel32(page + kSavedFlags);
  std::vector<size_t> to_miss;
  auto jne_miss = [&] {
    e.bytes({0x0f, 0x85});
    to_miss.push_back(e.forward32());
  };
  e.bytes({0x66, 0x3b, 0x05});  // cmp ax, [rip+expected_flags] (as lahf/seto)
  e.rel32(page + kExpectedFlags);
  jne_miss();
  // Then the loop words: they were chosen because they change.
  for (size_t i = 0; i < words.size(); ++i) {
    e.bytes({0x48, 0xa1});  // movabs rax, [addr]
    uint8_t addr[8];
    std::memcpy(addr, &words[i].addr, 8);
    e.bytes(std::vector<uint8_t>(addr, addr + 8));
    e.bytes({0x48, 0x3b, 0x05});  // cmp rax, [rip+expected_word[i]]
    e.rel32(page + kWords + 8 * i);
    jne_miss();
  }
  e.bytes({0x48, 0x8b, 0x05});  // mov rax, [rip+saved_rax]
  e.rel32(page + kSavedRax);
  emit_compare_gprs(e, page + kExpected, jne_miss);
  // Puts back ax's flags, then rax.
  auto restore = [&] {
    emit_restore_flags(e, page + kSavedFlags);
    e.bytes({0x48, 0x8b, 0x05});  // mov rax, [rip+saved_rax]
    e.rel32(page + kSavedRax);
  };
  restore();        // a match: trap with the program's registers
  e.bytes({0xcc});  // int3
  stub->trap_pc_ = e.here();
  e.bytes({0xe9});  // jmp resume (the tracer sets the pc itself)
  to_resume.push_back(e.forward32());
  for (size_t f : to_miss) e.bind(f);
  restore();
  for (size_t f : to_resume) e.bind(f);
  stub->resume_pc_ = e.here();
  for (size_t at = 0; at < covered;) {
    // A direct jump among them goes to the same target from the stub (in
    // its rel32 form); falling through goes on with the next copy.
    auto one = decode_insn(code + at, got - at);
    std::optional<std::vector<uint8_t>> moved;
    if (one && one->movable) {
      moved = relocate_insn(code + at, *one, pc + at, e.here());
    } else if (auto jump = relocate_direct_jump(code + at, got - at, pc + at, e.here());
               jump && one && jump->length == one->length) {
      moved = jump->bytes;
    }
    if (!moved) {
      (void)stub->remove(task);
      return std::unique_ptr<PreemptStub>();
    }
    stub->copies_.emplace_back(e.here(), pc + at);
    e.bytes(*moved);
    at += one->length;
  }
  stub->jump_back_ = e.here();
  e.bytes({0xe9});  // jmp pc + covered
  e.rel32(pc + covered);

  std::vector<uint8_t> data(kPage - kData, 0);
  for (int n = 0; n < 16; ++n) {
    uint64_t v = gpr_by_number(want, n);
    std::memcpy(&data[8 * n], &v, 8);
  }
  // ax as lahf and seto leave it: SF ZF AF PF CF (and bit 1) in ah, OF in al.
  const uint16_t flags =
      static_cast<uint16_t>((((want.eflags & 0xd5) | 0x02) << 8) | ((want.eflags >> 11) & 1));
  std::memcpy(&data[kExpectedFlags - kData], &flags, 2);
  for (size_t i = 0; i < words.size(); ++i)
    std::memcpy(&data[kWords - kData + 8 * i], &words[i].value, 8);
  std::memcpy(&data[kFastExpected - kData], &fast_expected, 8);
  Result<void> written = task.as().write(RemotePtr(page), e.code().data(), e.code().size());
  if (written) written = task.as().write(RemotePtr(page + kData), data.data(), data.size());
  uint8_t jmp[5] = {0xe9};
  int32_t rel = static_cast<int32_t>(static_cast<int64_t>(page - (pc + 5)));
  std::memcpy(jmp + 1, &rel, 4);
  if (written) written = task.as().write(RemotePtr(pc), jmp, sizeof jmp);
  if (!written) {
    (void)stub->remove(task);
    return written.error();
  }
  task.as().preempt_stub_page = page;
  task.as().code_patches[pc] = stub->original_;
  REWIND_LOG(Replay, "preemption point 0x%llx patched, stub at 0x%llx",
             static_cast<unsigned long long>(pc), static_cast<unsigned long long>(page));
  return stub;
}

std::optional<uint64_t> PreemptStub::program_pc(uint64_t rip) const {
  if (rip == trap_pc_ || rip == resume_pc_) return pc_;
  for (const auto& [copy, program] : copies_)
    if (rip == copy) return program;
  if (rip == jump_back_) return pc_ + insn_length_;
  return std::nullopt;
}

Result<void> PreemptStub::remove(Task& task) {
  if (removed_) return ok_result();
  removed_ = true;
  auto regs = task.get_regs();
  if (regs && contains(regs->rip)) {
    auto p = program_pc(regs->rip);
    if (!p) return Error{"a task stopped in the middle of a preemption stub"};
    user_regs_struct r = *regs;
    r.rip = *p;
    REWIND_TRY(task.set_regs(r));
  }
  REWIND_TRY(task.as().write(RemotePtr(pc_), original_.data(), original_.size()));
  task.as().code_patches.erase(pc_);
  AutoRemoteSyscalls remote(task);
  auto r = remote.syscall(SYS_munmap, page_, kPage);
  if (!r) return r.error();
  task.as().preempt_stub_page = 0;
  return ok_result();
}

PreemptStub::~PreemptStub() = default;

}  // namespace rwd
