// Finding a preemption point without a ptrace stop per loop iteration
// (no-pmu.md, "Per-site in-process counter", in its register-matching form).
//
// A preemption point is a pc plus the full state there. Replay used to stop
// at every execution of the pc (an int3) and compare: one ptrace stop,
// ~7 us, per iteration of the loop the recorder interrupted. Instead, when
// the instruction at the pc is Patchable (core/cpu/Insn.h), it is replaced
// by a jmp to a stub on a page mapped next to it; a shorter one is replaced
// with the instructions after it, where no jump lands between them (a tight
// loop of 3- and 4-byte instructions has no Patchable one at all). The stub compares the
// general registers (rsp included), the arithmetic flags and the memory
// words the loop writes (Event::loop_words) with the recorded ones, in the
// tracee, and executes int3 only when they all match;
// otherwise it runs the displaced instruction and jumps back. The tracer then
// checks the rest of the state (memory hash, FP registers) as before.
//
// The stub never touches the program's stack (it may use its red zone): it
// saves what it clobbers on its own page. That page is left out of state
// hashes (AddressSpace::preempt_stub_page) and unmapped afterwards.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/Error.h"
#include "core/task/Task.h"
#include "core/trace/TraceTypes.h"

namespace rwd {

class PreemptStub {
 public:
  // Patches the program at want.rip. The task must be stopped where
  // syscalls can be injected (AutoRemoteSyscalls). Returns nullptr when the
  // instruction there cannot be patched or no page is free near it; the
  // caller then falls back to a breakpoint.
  // `words` are memory words to compare too (the recorded loop words);
  // `loop_regs` the registers the loop changes (bit n: x86 register n), one
  // of which the stub tests first, cheaply.
  // `span`: when the instruction at the pc is shorter than the jmp, how
  // many bytes of whole instructions from the pc the jmp may displace
  // (CountedSites::movable_span: no jump lands inside them; direct jumps
  // among them are moved too); 0: none.
  // `reserved`: ranges the stub page must keep out of (the recording maps
  // them later: ReplaySession::stub_reserved).
  static Result<std::unique_ptr<PreemptStub>> install(
      Task& task, const user_regs_struct& want, const std::vector<trace::LoopWord>& words,
      uint16_t loop_regs, size_t span = 0,
      const std::vector<std::pair<uint64_t, uint64_t>>& reserved = {});
  ~PreemptStub();

  // The pc a task has when it stops at the stub's int3 (just after it).
  uint64_t trap_pc() const { return trap_pc_; }
  // Where a task put back at the program's pc after a false match continues:
  // the displaced instruction, then the jump back.
  uint64_t resume_pc() const { return resume_pc_; }
  // For a task stopped inside the stub: the program pc it stands for, if
  // there is one (after the displaced instruction: the next instruction).
  std::optional<uint64_t> program_pc(uint64_t rip) const;
  bool contains(uint64_t rip) const { return rip >= page_ && rip < page_ + kPage; }

  // Restores the program's bytes and unmaps the page. The task must be
  // stopped (injectable); a task standing inside the stub is moved to the
  // program pc it stands for.
  Result<void> remove(Task& task);

 private:
  static constexpr uint64_t kPage = 4096;
  PreemptStub() = default;

  uint64_t pc_ = 0;                // the patched instruction
  std::vector<uint8_t> original_;  // its first 5 bytes
  size_t insn_length_ = 0;         // the bytes displaced: one instruction or a few
  // Each displaced instruction's copy in the stub, and its address in the
  // program.
  std::vector<std::pair<uint64_t, uint64_t>> copies_;
  uint64_t page_ = 0;  // the stub page
  uint64_t trap_pc_ = 0, resume_pc_ = 0, jump_back_ = 0;
  bool removed_ = false;
};

}  // namespace rwd
