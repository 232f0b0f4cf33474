#include "core/cpu/Insn.h"

#include <Zydis/Zydis.h>

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
  out.cls = movable && insn.length >= 5 ? InsnClass::Patchable : InsnClass::Other;
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

std::vector<uint64_t> memory_writes(const uint8_t* code, size_t n, const user_regs_struct& regs) {
  std::vector<uint64_t> out;
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
    if (op.type != ZYDIS_OPERAND_TYPE_MEMORY || !(op.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
      continue;
    if (op.mem.type != ZYDIS_MEMOP_TYPE_MEM) continue;  // lea, agen: no access
    // push, call: the stack slot (the operand's address is before the push)
    if (op.visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN && op.mem.base == ZYDIS_REGISTER_RSP)
      continue;
    ZyanU64 addr = 0;
    if (ZYAN_FAILED(ZydisCalcAbsoluteAddressEx(&insn, &op, regs.rip, &ctx, &addr))) continue;
    if (op.mem.segment == ZYDIS_REGISTER_FS) addr += regs.fs_base;
    if (op.mem.segment == ZYDIS_REGISTER_GS) addr += regs.gs_base;
    out.push_back(addr);
  }
  return out;
}

}  // namespace rwd
