// The few facts about x86-64 instructions that preemption needs, decoded by
// Zydis (a maintained decoder; hand-written length tables get prefixes,
// VEX/EVEX and rip-relative forms wrong).
//
// A preemption point X is an arbitrary instruction. Replay finds it by
// running to X until the state matches (no-pmu.md). When X is "patchable"
// replay replaces it with a 5-byte jmp to a stub that compares registers in
// the tracee and traps only on a match, so a hot loop costs nanoseconds per
// iteration instead of a ptrace stop. Patchable means the jmp fits inside
// the one instruction (so no jump can land in its middle) and the
// instruction still works when executed at another address.
#pragma once

#include <sys/user.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace rwd {

enum class InsnClass {
  Patchable,  // at least 5 bytes, no relative branch: replay can patch it
  Stops,      // stops the task by itself (syscall, int, rdtsc, ud2, ...) or
              // must not be single-stepped (pushf would store the trap flag)
  Other,
};

struct DecodedInsn {
  InsnClass cls = InsnClass::Other;
  size_t length = 0;
  // A rip-relative memory operand: its 32-bit displacement's offset within
  // the instruction (0 if none).
  size_t rip_disp_offset = 0;
  // A rep-prefixed string instruction (rep movs, rep stos, ...), which an
  // interrupt can stop half way.
  bool rep_string = false;
  // It works the same at another address (relocate_insn): no relative
  // branch, no use of rip but a 32-bit rip-relative operand, and it does
  // not stop by itself. Patchable is movable and at least 5 bytes long.
  bool movable = false;
};

// A general register by its x86 encoding number: rax rcx rdx rbx rsp rbp rsi
// rdi r8..r15.
uint64_t gpr_by_number(const user_regs_struct& r, int n);

// The length of the call instruction (any form: e8 rel32, ff /2, ...) at
// the start of `code`; nullopt if the bytes there are not a call.
std::optional<size_t> call_length(const uint8_t* code, size_t n);

// Decodes the instruction at the start of `code` (n bytes available).
// nullopt if the bytes are not a valid instruction.
std::optional<DecodedInsn> decode_insn(const uint8_t* code, size_t n);

// The bytes of a Patchable instruction moved from address `from` to `to`,
// with a rip-relative displacement adjusted; nullopt if it no longer fits
// in 32 bits.
std::optional<std::vector<uint8_t>> relocate_insn(const uint8_t* code, const DecodedInsn& insn,
                                                  uint64_t from, uint64_t to);

// A direct jmp or jcc (rel8 or rel32, no prefix) at `from`, `len` bytes
// of code: the same jump placed at `to`, in its rel32 form (e9, or 0f 8x),
// and the length of the original; nullopt for any other instruction or a
// target out of reach.
struct MovedJump {
  std::vector<uint8_t> bytes;
  size_t length = 0;
};
std::optional<MovedJump> relocate_direct_jump(const uint8_t* code, size_t len, uint64_t from,
                                              uint64_t to);

// What a linear decode of one function's code says about its branches
// (scan_branches): enough to prove that no jump lands between two of its
// instruction boundaries.
struct CodeBranches {
  std::vector<uint64_t> starts;   // instruction addresses, in order
  std::vector<uint64_t> targets;  // targets of direct jumps and calls
  bool indirect_jump = false;     // jmp through a register or memory (a switch table)
};

// Decodes [addr, addr+n) linearly; nullopt if some bytes do not decode.
std::optional<CodeBranches> scan_branches(const uint8_t* code, size_t n, uint64_t addr);

// A memory operand of an instruction, with its address computed.
struct MemoryAccess {
  uint64_t addr = 0;
  uint64_t size = 0;  // bytes
  bool write = false;
  bool read = false;
  bool stack = false;  // the implicit stack slot of push, pop, call, ret
};

// The memory the instruction at regs.rip (whose bytes are `code`) reads or
// writes, computed from the registers, stack pushes and string
// instructions included (a rep string instruction: its first iteration);
// empty if it accesses no memory or does not decode.
std::vector<MemoryAccess> memory_accesses(const uint8_t* code, size_t n,
                                          const user_regs_struct& regs);

// The addresses of the memory the instruction at regs.rip (whose bytes are
// `code`) writes, computed from the registers. Stack pushes and string
// instructions included; empty if it writes no memory or does not decode.
std::vector<uint64_t> memory_writes(const uint8_t* code, size_t n, const user_regs_struct& regs);

// The instructions record and replay make trap (core/task/TrapPatch.h),
// because what they return differs between runs: the time stamp counter;
// CPUID, whose leaf 1 EBX holds the APIC id of the CPU the thread runs on
// (which a hypervisor changes at will) and whose other leaves differ
// between machines; and the CPU's random numbers.
enum class TrapInsn : uint8_t {
  Rdtsc,   // 0f 31
  Rdtscp,  // 0f 01 f9
  Cpuid,   // 0f a2
  Rdrand,  // [66|REX.W] 0f c7 /6, a register operand
  Rdseed,  // [66|REX.W] 0f c7 /7, a register operand
};
constexpr TrapInsn kLastTrapInsn = TrapInsn::Rdseed;
// Longer ones (prefixes nothing needs) are left alone.
constexpr size_t kMaxTrapInsnLength = 8;
const char* trap_insn_name(TrapInsn kind);

// One of them, decoded.
struct TrapInsnInfo {
  TrapInsn kind = TrapInsn::Rdtsc;
  uint8_t length = 0;
  // rdrand and rdseed: the destination register (x86 encoding number, as
  // gpr_by_number) and its width in bits (16, 32 or 64).
  int dest_reg = -1;
  uint8_t dest_bits = 0;
};
// The instruction at the start of `code` (n bytes available), if it is one
// of them and at most kMaxTrapInsnLength long.
std::optional<TrapInsnInfo> decode_trap_insn(const uint8_t* code, size_t n);

// Such an instruction found in code (find_trap_insns).
struct TrapSite {
  size_t offset = 0;  // from the start of the code
  TrapInsn kind = TrapInsn::Rdtsc;
  uint8_t length = 0;
  bool operator==(const TrapSite&) const = default;
};

// The rdtsc, rdtscp, cpuid, rdrand and rdseed instructions in a run of
// code, decoded linearly from its start, as compilers lay out executable
// sections (no data among the instructions; a byte that does not decode is
// stepped over). Cheap when none of their encodings occurs at all, which
// is the usual case outside ld.so.
std::vector<TrapSite> find_trap_insns(const uint8_t* code, size_t n);

// Sets general register n (x86 encoding number) as an instruction writing
// `bits` of it does: 16 bits keep the rest, 32 bits zero the upper half.
void set_gpr_by_number(user_regs_struct& r, int n, unsigned bits, uint64_t value);

// A `syscall` with a neighbour that makes room for a 5-byte jmp and runs
// unchanged at another address: `cmp $imm32, %rax` (or %eax) after it, the
// shape of 85% of glibc's sites; else `mov $imm32, %eax` right before it
// (clock_gettime's, whose syscall is followed by a test). `offset` is where
// the patched bytes start, `length` covers both instructions, and
// `syscall_at` is the syscall's offset within them. `nr` is the syscall's
// number where the instruction right before the syscall is `mov $nr, %eax`
// (as in most of glibc's wrappers), else -1: the site may make any.
struct SyscallSite {
  size_t offset = 0;
  size_t length = 0;
  size_t syscall_at = 0;
  int32_t nr = -1;
};

// Such sites in a linear decode of [code, code+n).
std::vector<SyscallSite> find_syscall_sites(const uint8_t* code, size_t n);

}  // namespace rwd
