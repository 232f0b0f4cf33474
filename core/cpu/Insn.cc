#include "core/cpu/Insn.h"

#include <Zydis/Zydis.h>

#include <algorithm>
#include <cstring>

namespace rwd {

namespace {

bool stops_by_itself(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_SYSCALL:
    case ZYDIS_MNEMONIC_SYSENTER:
    case ZYDIS_MNEMONIC_INT:
    case ZYDIS_MNEMONIC_INT1:
    case ZYDIS_MNEMONIC_INT3:
    case ZYDIS_MNEMONIC_INTO:
    case ZYDIS_MNEMONIC_RDTSC:  // traps under PR_SET_TSC: an event
    case ZYDIS_MNEMONIC_RDTSCP:
    case ZYDIS_MNEMONIC_CPUID:  // patched to trap (core/task/TrapPatch.h)
    case ZYDIS_MNEMONIC_RDRAND:
    case ZYDIS_MNEMONIC_RDSEED:
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_PUSHF:  // single-stepped, it would push the trap flag
    case ZYDIS_MNEMONIC_PUSHFD:
    case ZYDIS_MNEMONIC_PUSHFQ:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<DecodedInsn> decode_insn(const uint8_t* code, size_t n) {
  ZydisDecoder decoder;
  if (ZYAN_FAILED(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
    return std::nullopt;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, code, n, &insn, ops))) return std::nullopt;
  DecodedInsn out;
  out.length = insn.length;
  out.rep_string =
      (insn.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) &&
      (insn.meta.category == ZYDIS_CATEGORY_STRINGOP ||
       insn.meta.category == ZYDIS_CATEGORY_IOSTRINGOP);
  if (stops_by_itself(insn.mnemonic)) {
    out.cls = InsnClass::Stops;
    return out;
  }
  bool movable = insn.meta.branch_type == ZYDIS_BRANCH_TYPE_NONE;
  for (int i = 0; i < insn.operand_count && movable; ++i) {
    const ZydisDecodedOperand& op = ops[i];
    if (op.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op.imm.is_relative) movable = false;
    if (op.type == ZYDIS_OPERAND_TYPE_REGISTER &&
        (op.reg.value == ZYDIS_REGISTER_RIP || op.reg.value == ZYDIS_REGISTER_EIP))
      movable = false;  // reads or writes the instruction pointer
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && op.mem.base == ZYDIS_REGISTER_RIP) {
      if (insn.raw.disp.size != 32) movable = false;
      out.rip_disp_offset = insn.raw.disp.offset;
    }
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && op.mem.base == ZYDIS_REGISTER_EIP) movable = false;
  }
  out.movable = movable;
  out.cls = movable && insn.length >= 5 ? InsnClass::Patchable : InsnClass::Other;
  return out;
}

std::optional<size_t> call_length(const uint8_t* code, size_t n) {
  ZydisDecoder decoder;
  if (ZYAN_FAILED(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
    return std::nullopt;
  ZydisDecodedInstruction insn;
  if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(&decoder, nullptr, code, n, &insn)))
    return std::nullopt;
  if (insn.mnemonic != ZYDIS_MNEMONIC_CALL) return std::nullopt;
  return insn.length;
}

std::optional<CodeBranches> scan_branches(const uint8_t* code, size_t n, uint64_t addr) {
  ZydisDecoder decoder;
  if (ZYAN_FAILED(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
    return std::nullopt;
  CodeBranches out;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  for (size_t at = 0; at < n; at += insn.length) {
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, code + at, n - at, &insn, ops)))
      return std::nullopt;
    const uint64_t here = addr + at;
    out.starts.push_back(here);
    if (insn.meta.branch_type == ZYDIS_BRANCH_TYPE_NONE) continue;
    bool direct = false;
    for (int i = 0; i < insn.operand_count_visible; ++i) {
      if (ops[i].type != ZYDIS_OPERAND_TYPE_IMMEDIATE || !ops[i].imm.is_relative) continue;
      ZyanU64 target = 0;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &ops[i], here, &target))) {
        out.targets.push_back(target);
        direct = true;
      }
    }
    // An indirect call comes back to the next instruction, which is not
    // inside anything patched; an indirect jmp may land anywhere.
    if (!direct && insn.mnemonic == ZYDIS_MNEMONIC_JMP) out.indirect_jump = true;
  }
  return out;
}

std::optional<std::vector<uint8_t>> relocate_insn(const uint8_t* code, const DecodedInsn& insn,
                                                  uint64_t from, uint64_t to) {
  std::vector<uint8_t> out(code, code + insn.length);
  if (!insn.rip_disp_offset) return out;
  int32_t disp;
  std::memcpy(&disp, code + insn.rip_disp_offset, 4);
  // The operand's address is rip-after-insn + disp, at either address.
  const int64_t moved = static_cast<int64_t>(disp) + static_cast<int64_t>(from - to);
  if (moved < INT32_MIN || moved > INT32_MAX) return std::nullopt;
  disp = static_cast<int32_t>(moved);
  std::memcpy(out.data() + insn.rip_disp_offset, &disp, 4);
  return out;
}

uint64_t gpr_by_number(const user_regs_struct& r, int n) {
  const uint64_t v[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                          r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
  return v[n];
}

std::vector<MemoryAccess> memory_accesses(const uint8_t* code, size_t n,
                                          const user_regs_struct& regs) {
  std::vector<MemoryAccess> out;
  ZydisDecoder decoder;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (ZYAN_FAILED(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)) ||
      ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, code, n, &insn, ops)))
    return out;
  ZydisRegisterContext ctx{};
  // Zydis numbers RAX..R15 in encoding order.
  for (int n = 0; n < 16; ++n) ctx.values[ZYDIS_REGISTER_RAX + n] = gpr_by_number(regs, n);
  ctx.values[ZYDIS_REGISTER_RIP] = regs.rip;
  for (int i = 0; i < insn.operand_count; ++i) {
    const ZydisDecodedOperand& op = ops[i];
    if (op.type != ZYDIS_OPERAND_TYPE_MEMORY) continue;
    if (op.mem.type != ZYDIS_MEMOP_TYPE_MEM) continue;  // lea, agen: no access
    MemoryAccess a;
    a.write = op.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
    a.read = op.actions & ZYDIS_OPERAND_ACTION_MASK_READ;
    if (!a.write && !a.read) continue;
    a.size = op.size / 8;
    ZyanU64 addr = 0;
    if (ZYAN_FAILED(ZydisCalcAbsoluteAddressEx(&insn, &op, regs.rip, &ctx, &addr))) continue;
    a.stack = op.visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN && op.mem.base == ZYDIS_REGISTER_RSP;
    // push and call store below the stack pointer they are given.
    if (a.stack && a.write) addr -= a.size;
    if (op.mem.segment == ZYDIS_REGISTER_FS) addr += regs.fs_base;
    if (op.mem.segment == ZYDIS_REGISTER_GS) addr += regs.gs_base;
    a.addr = addr;
    out.push_back(a);
  }
  return out;
}

std::vector<uint64_t> memory_writes(const uint8_t* code, size_t n, const user_regs_struct& regs) {
  std::vector<uint64_t> out;
  for (const MemoryAccess& a : memory_accesses(code, n, regs)) {
    // The stack slot of a push or call stays out: preemption's loop words
    // never need it.
    if (a.write && !a.stack) out.push_back(a.addr);
  }
  return out;
}

namespace {

// Decodes [code, code+n) linearly, skipping a byte where nothing decodes,
// and calls f(offset, insn) for each instruction. Only lengths and
// mnemonics are decoded.
template <class F>
void for_each_insn(const uint8_t* code, size_t n, F f) {
  ZydisDecoder decoder;
  if (ZYAN_FAILED(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
    return;
  ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);
  ZydisDecoderContext ctx;
  ZydisDecodedInstruction insn;
  for (size_t off = 0; off < n;) {
    if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(&decoder, &ctx, code + off, n - off, &insn))) {
      ++off;
      continue;
    }
    f(off, insn);
    off += insn.length;
  }
}

}  // namespace

const char* trap_insn_name(TrapInsn kind) {
  switch (kind) {
    case TrapInsn::Rdtsc:
      return "rdtsc";
    case TrapInsn::Rdtscp:
      return "rdtscp";
    case TrapInsn::Cpuid:
      return "cpuid";
    case TrapInsn::Rdrand:
      return "rdrand";
    case TrapInsn::Rdseed:
      return "rdseed";
  }
  return "?";
}

namespace {

std::optional<TrapInsnInfo> trap_insn_of(const ZydisDecodedInstruction& insn,
                                         const ZydisDecodedOperand* ops) {
  if (insn.length > kMaxTrapInsnLength) return std::nullopt;
  TrapInsnInfo out;
  out.length = insn.length;
  switch (insn.mnemonic) {
    case ZYDIS_MNEMONIC_RDTSC:
      out.kind = TrapInsn::Rdtsc;
      return out;
    case ZYDIS_MNEMONIC_RDTSCP:
      out.kind = TrapInsn::Rdtscp;
      return out;
    case ZYDIS_MNEMONIC_CPUID:
      out.kind = TrapInsn::Cpuid;
      return out;
    case ZYDIS_MNEMONIC_RDRAND:
    case ZYDIS_MNEMONIC_RDSEED: {
      out.kind = insn.mnemonic == ZYDIS_MNEMONIC_RDRAND ? TrapInsn::Rdrand : TrapInsn::Rdseed;
      const ZydisDecodedOperand& op = ops[0];
      if (op.type != ZYDIS_OPERAND_TYPE_REGISTER) return std::nullopt;
      const ZydisRegister full =
          ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, op.reg.value);
      if (full < ZYDIS_REGISTER_RAX || full > ZYDIS_REGISTER_R15) return std::nullopt;
      out.dest_reg = full - ZYDIS_REGISTER_RAX;  // Zydis numbers RAX..R15 in encoding order
      out.dest_bits = static_cast<uint8_t>(op.size);
      return out;
    }
    default:
      return std::nullopt;
  }
}

// Whether `code` holds a byte sequence that starts one of them: 0f 31,
// 0f 01 f9, 0f a2, or 0f c7 with a register operand and /6 or /7 (modrm
// f0-ff).
bool may_hold_trap_insns(const uint8_t* code, size_t n) {
  for (const uint8_t* p = code;
       (p = static_cast<const uint8_t*>(memchr(p, 0x0f, static_cast<size_t>(code + n - p)))) &&
       p + 1 < code + n;
       ++p) {
    const uint8_t b = p[1];
    if (b == 0x31 || b == 0xa2) return true;
    if (p + 2 < code + n && ((b == 0x01 && p[2] == 0xf9) || (b == 0xc7 && p[2] >= 0xf0)))
      return true;
  }
  return false;
}

}  // namespace

std::optional<TrapInsnInfo> decode_trap_insn(const uint8_t* code, size_t n) {
  ZydisDecoder decoder;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (ZYAN_FAILED(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)) ||
      ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, code, n, &insn, ops)))
    return std::nullopt;
  return trap_insn_of(insn, ops);
}

std::vector<TrapSite> find_trap_insns(const uint8_t* code, size_t n) {
  std::vector<TrapSite> out;
  if (!may_hold_trap_insns(code, n)) return out;
  for_each_insn(code, n, [&](size_t off, const ZydisDecodedInstruction& insn) {
    switch (insn.mnemonic) {
      case ZYDIS_MNEMONIC_RDTSC:
      case ZYDIS_MNEMONIC_RDTSCP:
      case ZYDIS_MNEMONIC_CPUID:
      case ZYDIS_MNEMONIC_RDRAND:
      case ZYDIS_MNEMONIC_RDSEED:
        // Decoded again with operands: for_each_insn decodes without them.
        if (auto t = decode_trap_insn(code + off, n - off))
          out.push_back({off, t->kind, t->length});
        break;
      default:
        break;
    }
  });
  return out;
}

void set_gpr_by_number(user_regs_struct& r, int n, unsigned bits, uint64_t value) {
  unsigned long long* v[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
                               &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
  if (bits == 16)
    *v[n] = (*v[n] & ~0xffffull) | (value & 0xffff);
  else if (bits == 32)
    *v[n] = static_cast<uint32_t>(value);
  else
    *v[n] = value;
}

std::vector<SyscallSite> find_syscall_sites(const uint8_t* code, size_t n) {
  std::vector<SyscallSite> out;
  size_t prev = SIZE_MAX;  // the previous instruction's offset
  for_each_insn(code, n, [&](size_t off, const ZydisDecodedInstruction& insn) {
    if (insn.mnemonic == ZYDIS_MNEMONIC_SYSCALL && insn.length == 2) {
      const uint8_t* next = code + off + 2;
      const bool room = off + 8 <= n;
      const bool mov_before = prev == off - 5 && code[prev] == 0xb8;  // mov $imm32, %eax
      int32_t nr = -1;
      if (mov_before) memcpy(&nr, code + prev + 1, 4);
      if (room && next[0] == 0x48 && next[1] == 0x3d)  // cmp $imm32, %rax
        out.push_back({off, 8, 0, nr});
      else if (room && next[0] == 0x3d)  // cmp $imm32, %eax
        out.push_back({off, 7, 0, nr});
      else if (mov_before)  // mov $imm32, %eax; syscall
        out.push_back({prev, 7, 5, nr});
    }
    prev = off;
  });
  return out;
}

}  // namespace rwd

namespace rwd {

std::optional<MovedJump> relocate_direct_jump(const uint8_t* code, size_t len, uint64_t from,
                                              uint64_t to) {
  if (len < 2) return std::nullopt;
  int64_t rel = 0;
  size_t length = 0;
  int cond = -1;  // -1: jmp
  if (code[0] >= 0x70 && code[0] <= 0x7f) {
    cond = code[0] & 0xf, length = 2, rel = static_cast<int8_t>(code[1]);
  } else if (code[0] == 0xeb) {
    length = 2, rel = static_cast<int8_t>(code[1]);
  } else if (code[0] == 0x0f && code[1] >= 0x80 && code[1] <= 0x8f && len >= 6) {
    int32_t r;
    std::memcpy(&r, code + 2, 4);
    cond = code[1] & 0xf, length = 6, rel = r;
  } else if (code[0] == 0xe9 && len >= 5) {
    int32_t r;
    std::memcpy(&r, code + 1, 4);
    length = 5, rel = r;
  } else {
    return std::nullopt;
  }
  const uint64_t target = from + length + static_cast<uint64_t>(rel);
  MovedJump out;
  out.length = length;
  const size_t new_len = cond < 0 ? 5 : 6;
  const int64_t moved = static_cast<int64_t>(target - (to + new_len));
  if (moved < INT32_MIN || moved > INT32_MAX) return std::nullopt;
  const int32_t r32 = static_cast<int32_t>(moved);
  if (cond < 0)
    out.bytes = {0xe9};
  else
    out.bytes = {0x0f, static_cast<uint8_t>(0x80 | cond)};
  const auto* b = reinterpret_cast<const uint8_t*>(&r32);
  out.bytes.insert(out.bytes.end(), b, b + 4);
  return out;
}

}  // namespace rwd
