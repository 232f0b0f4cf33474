#define BOOST_TEST_MODULE insn
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <vector>

#include "core/cpu/Insn.h"

using namespace rwd;

namespace {

DecodedInsn decode(std::vector<uint8_t> bytes) {
  bytes.resize(16, 0x90);  // what follows in memory must not matter
  auto d = decode_insn(bytes.data(), bytes.size());
  BOOST_REQUIRE(d);
  return *d;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rip_relative_load_is_patchable) {
  // mov eax, [rip + 0x2dd0]: the flag load of sigalrm_compute_flag's loop
  DecodedInsn d = decode({0x8b, 0x05, 0xd0, 0x2d, 0x00, 0x00});
  BOOST_TEST((d.cls == InsnClass::Patchable));
  BOOST_TEST(d.length == 6u);
  BOOST_TEST(d.rip_disp_offset == 2u);
}

BOOST_AUTO_TEST_CASE(short_and_branching_instructions_are_not) {
  BOOST_TEST((decode({0x48, 0xc1, 0xe0, 0x0d}).cls == InsnClass::Other));        // shl rax, 13
  BOOST_TEST((decode({0xe9, 0x10, 0x00, 0x00, 0x00}).cls == InsnClass::Other));  // jmp rel32
  BOOST_TEST((decode({0xe8, 0x10, 0x00, 0x00, 0x00}).cls == InsnClass::Other));  // call rel32
  BOOST_TEST((decode({0x0f, 0x84, 1, 0, 0, 0}).cls == InsnClass::Other));        // je rel32
  BOOST_TEST((decode({0xff, 0x15, 1, 0, 0, 0}).cls == InsnClass::Other));        // call [rip+1]
  BOOST_TEST((decode({0xc7, 0xf8, 1, 0, 0, 0}).cls == InsnClass::Other));        // xbegin rel32
}

BOOST_AUTO_TEST_CASE(long_plain_instructions_are_patchable) {
  DecodedInsn movabs = decode({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8});  // mov rax, imm64
  BOOST_TEST((movabs.cls == InsnClass::Patchable));
  BOOST_TEST(movabs.length == 10u);
  BOOST_TEST(movabs.rip_disp_offset == 0u);
  // vmovdqu ymm0, [rdi + 0x40] (VEX): no rip involved
  BOOST_TEST((decode({0xc5, 0xfe, 0x6f, 0x47, 0x40}).cls == InsnClass::Patchable));
}

BOOST_AUTO_TEST_CASE(instructions_that_stop_the_task) {
  BOOST_TEST((decode({0x0f, 0x05}).cls == InsnClass::Stops));        // syscall
  BOOST_TEST((decode({0x0f, 0x31}).cls == InsnClass::Stops));        // rdtsc
  BOOST_TEST((decode({0x0f, 0x01, 0xf9}).cls == InsnClass::Stops));  // rdtscp
  BOOST_TEST((decode({0xcc}).cls == InsnClass::Stops));              // int3
  BOOST_TEST((decode({0x0f, 0x0b}).cls == InsnClass::Stops));        // ud2
  BOOST_TEST((decode({0x9c}).cls == InsnClass::Stops));              // pushfq
}

BOOST_AUTO_TEST_CASE(invalid_bytes_do_not_decode) {
  std::vector<uint8_t> bad = {0x06};  // push es: invalid in 64-bit mode
  bad.resize(16, 0x90);
  BOOST_TEST(!decode_insn(bad.data(), bad.size()));
}

BOOST_AUTO_TEST_CASE(relocation_keeps_the_operand_address) {
  const uint8_t code[] = {0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00};  // mov rax, [rip+0x100]
  DecodedInsn d = decode(std::vector<uint8_t>(code, code + sizeof code));
  const uint64_t from = 0x555555555000, to = 0x555555000000;
  auto moved = relocate_insn(code, d, from, to);
  BOOST_REQUIRE(moved);
  int32_t disp;
  std::memcpy(&disp, moved->data() + d.rip_disp_offset, 4);
  BOOST_TEST(to + d.length + disp == from + d.length + 0x100);
  // 4 GiB away the displacement no longer fits.
  BOOST_TEST(!relocate_insn(code, d, from, from + (uint64_t(4) << 30)));
}

BOOST_AUTO_TEST_CASE(memory_writes_use_the_registers) {
  user_regs_struct r{};
  r.rip = 0x1000;
  r.rcx = 0x5000;
  r.rdx = 1;
  r.rsp = 0x7fff0000;
  r.fs_base = 0x9000;
  std::vector<uint8_t> add = {0x48, 0x83, 0x04, 0xd1, 0x01};  // addq $1, (%rcx,%rdx,8)
  add.resize(16, 0x90);
  BOOST_TEST(memory_writes(add.data(), add.size(), r) == std::vector<uint64_t>{0x5008});
  std::vector<uint8_t> push = {0x50};  // push rax
  push.resize(16, 0x90);
  BOOST_TEST(memory_writes(push.data(), push.size(), r).empty());
  std::vector<uint8_t> tls = {0x64, 0x48, 0x89, 0x04, 0x25, 0x28, 0, 0, 0};  // mov %rax, %fs:0x28
  tls.resize(16, 0x90);
  BOOST_TEST(memory_writes(tls.data(), tls.size(), r) == std::vector<uint64_t>{0x9028});
  std::vector<uint8_t> load = {0x8b, 0x05, 0x10, 0, 0, 0};  // mov eax, [rip+0x10]: a read
  load.resize(16, 0x90);
  BOOST_TEST(memory_writes(load.data(), load.size(), r).empty());
  std::vector<uint8_t> store = {0x89, 0x05, 0x10, 0, 0, 0};  // mov [rip+0x10], eax
  store.resize(16, 0x90);
  BOOST_TEST(memory_writes(store.data(), store.size(), r) == std::vector<uint64_t>{0x1016});
}

BOOST_AUTO_TEST_CASE(rep_string_instructions) {
  BOOST_TEST(decode({0xf3, 0x48, 0xab}).rep_string);         // rep stos qword
  BOOST_TEST(decode({0xf3, 0xa4}).rep_string);               // rep movsb
  BOOST_TEST(decode({0xf2, 0xae}).rep_string);               // repne scasb
  BOOST_TEST(!decode({0x48, 0xab}).rep_string);              // stos qword, no rep
  BOOST_TEST(!decode({0xf3, 0xc3}).rep_string);              // rep ret
  BOOST_TEST(!decode({0xf3, 0x0f, 0xb8, 0xc0}).rep_string);  // popcnt eax, eax
  user_regs_struct r{};
  r.rcx = 7;
  r.r13 = 9;
  BOOST_TEST(gpr_by_number(r, 1) == 7u);
  BOOST_TEST(gpr_by_number(r, 13) == 9u);
}

BOOST_AUTO_TEST_CASE(trapped_instructions_are_found_by_decoding) {
  // mov $0xa20f, %eax; cpuid; mov $0x310f, %ecx; rdtsc; rdtscp;
  // rdrand %rax; rdseed %r9d; rdrand %cx; cmpxchg16b (%rdi); xor %eax,%eax
  // The immediates hold cpuid's and rdtsc's bytes, which a byte search
  // would take for instructions (and patching them would corrupt the
  // constants); cmpxchg16b shares rdrand's opcode (0f c7 /1).
  const std::vector<uint8_t> code = {0xb8, 0x0f, 0xa2, 0x00, 0x00, 0x0f, 0xa2, 0xb9, 0x0f,
                                     0x31, 0x00, 0x00, 0x0f, 0x31, 0x0f, 0x01, 0xf9, 0x48,
                                     0x0f, 0xc7, 0xf0, 0x41, 0x0f, 0xc7, 0xf9, 0x66, 0x0f,
                                     0xc7, 0xf1, 0x48, 0x0f, 0xc7, 0x0f, 0x31, 0xc0};
  const std::vector<TrapSite> want = {{5, TrapInsn::Cpuid, 2},   {12, TrapInsn::Rdtsc, 2},
                                      {14, TrapInsn::Rdtscp, 3}, {17, TrapInsn::Rdrand, 4},
                                      {21, TrapInsn::Rdseed, 4}, {25, TrapInsn::Rdrand, 4}};
  BOOST_TEST((find_trap_insns(code.data(), code.size()) == want));
  for (const TrapSite& s : want) {
    auto t = decode_trap_insn(code.data() + s.offset, code.size() - s.offset);
    BOOST_REQUIRE(t);
    BOOST_TEST((t->kind == s.kind));
    BOOST_TEST(t->length == s.length);
  }
  // rdrand's destination: rax (0) in 64 bits, r9 (9) in 32, rcx (1) in 16.
  auto rax = decode_trap_insn(code.data() + 17, 4), r9d = decode_trap_insn(code.data() + 21, 4),
       cx = decode_trap_insn(code.data() + 25, 4);
  BOOST_TEST((rax->dest_reg == 0 && rax->dest_bits == 64));
  BOOST_TEST((r9d->dest_reg == 9 && r9d->dest_bits == 32));
  BOOST_TEST((cx->dest_reg == 1 && cx->dest_bits == 16));
  BOOST_TEST(!decode_trap_insn(code.data(), code.size()));  // the mov
  BOOST_TEST(!decode_trap_insn(code.data() + 29, 4));       // cmpxchg16b
  // Nothing to find: no decoding at all.
  const std::vector<uint8_t> plain = {0x31, 0xc0, 0xc3};
  BOOST_TEST(find_trap_insns(plain.data(), plain.size()).empty());
}

BOOST_AUTO_TEST_CASE(register_writes_of_each_width) {
  user_regs_struct r{};
  r.rcx = 0x1111222233334444;
  set_gpr_by_number(r, 1, 16, 0xabcdef);
  BOOST_TEST(r.rcx == 0x111122223333cdefull);  // 16 bits: the rest stays
  set_gpr_by_number(r, 1, 32, 0xffffffff12345678);
  BOOST_TEST(r.rcx == 0x12345678ull);  // 32 bits: zero-extended
  set_gpr_by_number(r, 15, 64, 0x8000000000000001);
  BOOST_TEST(r.r15 == 0x8000000000000001ull);
}
