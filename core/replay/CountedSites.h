// Counted breakpoints in the tracee (no-pmu.md, "Count in the tracee").
//
// A reverse-continue over a stretch without events needs the number of
// times a breakpoint address ran in it, and then a stop at the last of
// them. With an int3 per execution that costs a ptrace stop (~7-70 us)
// per hit, twice. Instead each counted address ("site") is patched with a
// 5-byte jmp to a stub on a page near it, which adds one to a counter word
// of the process and traps only when a countdown word reaches zero. The
// instructions the jmp covers run, relocated, in the stub, which then
// jumps back.
//
// A site's stub may also compare the registers with wanted ones first (as
// PreemptStub does) and trap when they all match: run() uses that to stop
// at a known state without a ptrace stop per execution of its pc.
//
// The stubs never touch the program's stack or flags: they save what they
// clobber on their own page, use lea and jrcxz to count and test, and the
// counter words are reached by absolute address (the moffs form of mov).
// Only one thread of a process runs at a time in replay, so the words need
// no atomics, and the tracer can attribute the counter's growth between a
// resume and the next stop to the thread it resumed.
//
// When the jmp covers more than one instruction, no jump may land between
// them: the enclosing function (by its ELF symbol) is decoded and each
// direct branch target checked; a function with an indirect jmp is refused.
// Where no patch fits, the caller counts with an int3 instead.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "core/base/Error.h"
#include "core/task/Task.h"

namespace rwd {

class CountedSites {
 public:
  // The countdown's value while no stop is wanted: never reaches zero.
  static constexpr uint64_t kNoStop = UINT64_MAX;

  CountedSites() = default;
  // Address ranges the recording maps at some point (the trace's mapping
  // records): stub pages go elsewhere, or the program's mmap would meet
  // them, and state hashes would take its memory for ours.
  void set_reserved(std::vector<std::pair<uint64_t, uint64_t>> r) { reserved_ = std::move(r); }
  CountedSites(const CountedSites&) = delete;
  CountedSites& operator=(const CountedSites&) = delete;

  // Patches `addr` with a jmp to a stub that counts (when `count`) and/or
  // compares the registers with `state` (when set). Patching an address
  // already patched rewrites its stub. The task must be stopped where
  // syscalls can be injected. Returns false when no patch fits here (the
  // caller falls back to an int3); `task_pcs` are where the process's
  // threads stand, which no patch may cover but at its start.
  Result<bool> patch(Task& task, uint64_t addr, bool count,
                     const std::optional<user_regs_struct>& state,
                     const std::vector<uint64_t>& task_pcs);
  // Whether patch() could place a jmp at `addr` now (not whether a stub
  // page can be mapped near it).
  Result<bool> fits(Task& task, uint64_t addr, const std::vector<uint64_t>& task_pcs) {
    auto n = coverable(task, addr, task_pcs, 0);
    if (!n) return n.error();
    return *n > 0;
  }
  // For a state at an `addr` where no jmp fits (a `ret` that ends its
  // function, a short instruction before a branch target): patches an
  // instruction boundary q shortly before it instead, whose stub runs the
  // instructions of [q, addr), relocated, and then compares the registers
  // with `state`, trapping (TrapKind::State, Trap::at == addr) on a match;
  // [q, addr) must be straight-line code no jump lands in. Returns q, or
  // nullopt where no q fits; never one of `avoid`.
  Result<std::optional<uint64_t>> patch_state_before(Task& task, uint64_t addr,
                                                     const user_regs_struct& state,
                                                     const std::vector<uint64_t>& task_pcs,
                                                     const std::set<uint64_t>& avoid);
  // For a state at an `addr` where neither a jmp nor patch_state_before
  // fits (a 3-byte cmp after a 4-byte add, before a loop's jne): patches a
  // boundary q a few instructions before it whose jmp covers addr, with
  // the check inside the stub (as add_inner_state). Returns q, or nullopt.
  Result<std::optional<uint64_t>> patch_state_inside(Task& task, uint64_t addr,
                                                     const user_regs_struct& state,
                                                     const std::vector<uint64_t>& task_pcs,
                                                     const std::set<uint64_t>& avoid);
  // For a state at an `addr` inside the bytes a counting patch covers (the
  // call after a 3-byte line start): that patch's stub checks the state
  // where its relocated code reaches addr, trapping (TrapKind::State,
  // Trap::at == addr) on a match. A task that matches stands under the
  // jmp: the caller lifts the patch (ReplaySession::unpatch_covering).
  // Returns the patched site, or nullopt where none covers addr at an
  // instruction boundary. patch() on that site takes the check out.
  Result<std::optional<uint64_t>> add_inner_state(Task& task, uint64_t addr,
                                                  const user_regs_struct& state);
  // The start of the function that holds `pc` (by its ELF symbol) and the
  // targets of the direct jumps inside it, where control arrives other
  // than by falling through: the starts of its basic blocks. Empty
  // without a symbol.
  static std::vector<uint64_t> block_starts_around(Task& task, uint64_t pc);
  // How many bytes from pc, whole movable instructions of at least 5 bytes,
  // a jmp may cover: no jump of the function lands inside them, no task of
  // `task_pcs` stands inside them, no other patch or breakpoint is there;
  // 0 if none. For PreemptStub, at a pc whose own instruction is too short.
  static Result<size_t> movable_span(Task& task, uint64_t pc,
                                     const std::vector<uint64_t>& task_pcs);
  // Puts the program's bytes back at `addr` (its stub's slot stays unused).
  Result<void> unpatch(Task& task, uint64_t addr);
  // Puts every patched address back and unmaps the pages.
  Result<void> remove_all(Task& task);
  bool patched(uint64_t addr) const { return sites_.count(addr) > 0; }
  // Forgets the patches a mapping made over them took away (ld.so maps a
  // library's segments over its first, whole-file mapping): they are
  // placed again. Returns how many.
  size_t drop_overwritten(Task& task);
  bool counts(uint64_t addr) const;
  bool empty() const { return sites_.empty(); }
  // The patched site whose covered bytes hold `addr` after their first,
  // if any (a point no thread can stand at while the patch is there).
  std::optional<uint64_t> covering(uint64_t addr) const;

  // The process-wide counter, and the countdown (a trap when it reaches
  // zero after the counter moved).
  Result<uint64_t> counter(const Task& task) const;
  Result<void> set_countdown(const Task& task, uint64_t n) const;
  Result<void> set_counter(const Task& task, uint64_t n) const;
  // The address space is gone (execve): start again with nothing.
  void forget() {
    pages_.clear();
    free_slots_.clear();
    sites_.clear();
  }

  // Where a task stopped at a stub's int3 stands (rip after the int3).
  enum class TrapKind { State, Count };
  struct Trap {
    uint64_t site = 0;
    TrapKind kind = TrapKind::Count;
    uint64_t at = 0;  // where the task stands: the site, or the state's pc after it
  };
  std::optional<Trap> trap_at(uint64_t rip) const;
  bool in_stub(uint64_t rip) const;
  // Where a task standing at site `addr` continues: past the state check
  // (the arrival not yet counted) or past the count too.
  uint64_t entry(uint64_t addr) const { return sites_.at(addr).entry; }
  uint64_t count_entry(uint64_t addr) const { return sites_.at(addr).count_entry; }
  uint64_t displaced(uint64_t addr) const { return sites_.at(addr).displaced; }

 private:
  struct Site {
    uint64_t slot = 0;   // its code and data
    size_t covered = 0;  // bytes of program code under the jmp
    bool count = false;
    std::optional<user_regs_struct> state;
    uint64_t state_at = 0;  // patch_state_before: the state's pc, the end of the covered bytes
    uint64_t inner_at = 0;  // add_inner_state: the state's pc, inside the covered bytes
    uint64_t entry = 0, state_trap = 0, count_entry = 0, count_trap = 0, displaced = 0;
  };
  Result<uint64_t> free_slot(Task& task, uint64_t pc);
  // `end`: cover exactly up to there (0: the fewest whole instructions).
  Result<size_t> coverable(Task& task, uint64_t pc, const std::vector<uint64_t>& task_pcs,
                           uint64_t end);
  // Writes site's stub into a free slot and the jmp at addr.
  Result<bool> place(Task& task, uint64_t addr, Site site);
  Result<bool> write_stub(Task& task, uint64_t pc, Site& site);  // false: cannot relocate
  Result<std::optional<uint64_t>> patch_state_back(Task& task, uint64_t addr,
                                                   const user_regs_struct& state,
                                                   const std::vector<uint64_t>& task_pcs,
                                                   const std::set<uint64_t>& avoid, bool inside);

  std::vector<uint64_t> pages_;  // mapped; the first holds the counter words
  std::vector<uint64_t> free_slots_;
  std::map<uint64_t, Site> sites_;  // by patched address
  std::vector<std::pair<uint64_t, uint64_t>> reserved_;
};

}  // namespace rwd
