#include "gdbstub/Registers.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "gdbstub/PacketParser.h"

namespace rwd::gdbstub {

namespace {

using Area = RegisterInfo::Area;
using F = RegisterFeature;

constexpr RegisterInfo gp(const char* name, const char* type, size_t offset, int bitsize = 64) {
  return {name,    bitsize,  type,   nullptr,
          F::Core, Area::Gp, offset, static_cast<size_t>(bitsize / 8)};
}

#define GP_OFFSET(field) offsetof(user_regs_struct, field)
#define FP_OFFSET(field) offsetof(user_fpregs_struct, field)

constexpr const char* kStNames[8] = {"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"};
constexpr const char* kXmmNames[16] = {"xmm0",  "xmm1",  "xmm2",  "xmm3", "xmm4",  "xmm5",
                                       "xmm6",  "xmm7",  "xmm8",  "xmm9", "xmm10", "xmm11",
                                       "xmm12", "xmm13", "xmm14", "xmm15"};
constexpr const char* kYmmNames[16] = {"ymm0h",  "ymm1h",  "ymm2h",  "ymm3h", "ymm4h",  "ymm5h",
                                       "ymm6h",  "ymm7h",  "ymm8h",  "ymm9h", "ymm10h", "ymm11h",
                                       "ymm12h", "ymm13h", "ymm14h", "ymm15h"};

// Register numbers follow gdb's amd64-linux description as gdbserver sends
// it (gdb/features/i386/64bit-*.xml): core 0-39, sse 40-56, orig_rax 57,
// fs_base/gs_base 58-59, ymm0h-15h 60-75.
constexpr auto kRegisters = [] {
  std::array<RegisterInfo, 76> r{};
  int n = 0;
  r[n++] = gp("rax", "int64", GP_OFFSET(rax));
  r[n++] = gp("rbx", "int64", GP_OFFSET(rbx));
  r[n++] = gp("rcx", "int64", GP_OFFSET(rcx));
  r[n++] = gp("rdx", "int64", GP_OFFSET(rdx));
  r[n++] = gp("rsi", "int64", GP_OFFSET(rsi));
  r[n++] = gp("rdi", "int64", GP_OFFSET(rdi));
  r[n++] = gp("rbp", "data_ptr", GP_OFFSET(rbp));
  r[n++] = gp("rsp", "data_ptr", GP_OFFSET(rsp));
  r[n++] = gp("r8", "int64", GP_OFFSET(r8));
  r[n++] = gp("r9", "int64", GP_OFFSET(r9));
  r[n++] = gp("r10", "int64", GP_OFFSET(r10));
  r[n++] = gp("r11", "int64", GP_OFFSET(r11));
  r[n++] = gp("r12", "int64", GP_OFFSET(r12));
  r[n++] = gp("r13", "int64", GP_OFFSET(r13));
  r[n++] = gp("r14", "int64", GP_OFFSET(r14));
  r[n++] = gp("r15", "int64", GP_OFFSET(r15));
  r[n++] = gp("rip", "code_ptr", GP_OFFSET(rip));
  // eflags and the selectors are 32 bits in gdb's description; the kernel
  // keeps them in 64-bit slots whose upper half is zero.
  r[n++] = gp("eflags", "i386_eflags", GP_OFFSET(eflags), 32);
  r[n++] = gp("cs", "int32", GP_OFFSET(cs), 32);
  r[n++] = gp("ss", "int32", GP_OFFSET(ss), 32);
  r[n++] = gp("ds", "int32", GP_OFFSET(ds), 32);
  r[n++] = gp("es", "int32", GP_OFFSET(es), 32);
  r[n++] = gp("fs", "int32", GP_OFFSET(fs), 32);
  r[n++] = gp("gs", "int32", GP_OFFSET(gs), 32);
  // FXSAVE keeps each 80-bit st register in a 16-byte slot.
  for (int i = 0; i < 8; ++i)
    r[n++] = {kStNames[i], 80, "i387_ext", nullptr, F::Core, Area::Fp, FP_OFFSET(st_space) + 16 * i,
              10};
  // The x87 control registers as gdbserver's i387_fxsave_to_cache reads
  // them from the 64-bit FXSAVE image: the instruction and operand pointers
  // are split into a 32-bit offset and the 16 bits above it.
  auto x87 = [](const char* name, Area area, size_t offset, size_t size) {
    return RegisterInfo{name, 32, "int", "float", F::Core, area, offset, size};
  };
  r[n++] = x87("fctrl", Area::Fp, FP_OFFSET(cwd), 2);
  r[n++] = x87("fstat", Area::Fp, FP_OFFSET(swd), 2);
  r[n++] = x87("ftag", Area::FpTag, FP_OFFSET(ftw), 2);
  r[n++] = x87("fiseg", Area::Fp, FP_OFFSET(rip) + 4, 2);
  r[n++] = x87("fioff", Area::Fp, FP_OFFSET(rip), 4);
  r[n++] = x87("foseg", Area::Fp, FP_OFFSET(rdp) + 4, 2);
  r[n++] = x87("fooff", Area::Fp, FP_OFFSET(rdp), 4);
  r[n++] = x87("fop", Area::Fp, FP_OFFSET(fop), 2);
  for (int i = 0; i < 16; ++i)
    r[n++] = {
        kXmmNames[i], 128, "vec128", nullptr, F::Sse, Area::Fp, FP_OFFSET(xmm_space) + 16 * i, 16};
  r[n++] = {"mxcsr", 32, "i386_mxcsr", "vector", F::Sse, Area::Fp, FP_OFFSET(mxcsr), 4};
  r[n++] = {"orig_rax", 64, "int", nullptr, F::Linux, Area::Gp, GP_OFFSET(orig_rax), 8};
  r[n++] = {"fs_base", 64, "int", nullptr, F::Segments, Area::Gp, GP_OFFSET(fs_base), 8};
  r[n++] = {"gs_base", 64, "int", nullptr, F::Segments, Area::Gp, GP_OFFSET(gs_base), 8};
  for (int i = 0; i < 16; ++i)
    r[n++] = {kYmmNames[i],
              128,
              "uint128",
              nullptr,
              F::Avx,
              Area::YmmHi,
              16 * static_cast<size_t>(i),
              16};
  return r;
}();

#undef GP_OFFSET
#undef FP_OFFSET

static_assert(std::string_view(kRegisters[kRipRegister].name) == "rip");
static_assert(std::string_view(kRegisters[40].name) == "xmm0");
static_assert(std::string_view(kRegisters[57].name) == "orig_rax");
static_assert(std::string_view(kRegisters[kFirstAvxRegister].name) == "ymm0h");
static_assert(std::string_view(kRegisters[75].name) == "ymm15h");

// The storage a register's offset counts from; `File` is RegisterFile,
// const or not.
template <class File>
auto* area_bytes(File& regs, Area area) {
  using Byte = std::conditional_t<std::is_const_v<File>, const uint8_t, uint8_t>;
  switch (area) {
    case Area::Gp:
      return reinterpret_cast<Byte*>(&regs.gp);
    case Area::Fp:
    case Area::FpTag:
      return reinterpret_cast<Byte*>(&regs.fp);
    case Area::YmmHi:
      return reinterpret_cast<Byte*>(regs.ymm_hi.data());
  }
  REWIND_ASSERT(false, "bad register area");
}

constexpr int kTagValid = 0, kTagZero = 1, kTagSpecial = 2, kTagEmpty = 3;

}  // namespace

std::span<const RegisterInfo> amd64_registers() {
  return kRegisters;
}

std::string read_register(const target::RegisterFile& regs, int regnum) {
  const RegisterInfo& info = kRegisters.at(regnum);
  std::string out(info.bitsize / 8, '\0');
  if (info.area == Area::FpTag) {
    uint16_t tag = full_x87_tag_word(regs.fp);
    std::memcpy(out.data(), &tag, sizeof tag);
    return out;
  }
  std::memcpy(out.data(), area_bytes(regs, info.area) + info.offset, info.size);
  return out;
}

void write_register(target::RegisterFile& regs, int regnum, std::string_view bytes) {
  const RegisterInfo& info = kRegisters.at(regnum);
  REWIND_ASSERT(bytes.size() == static_cast<size_t>(info.bitsize / 8));
  if (info.area == Area::FpTag) {
    uint16_t full;
    std::memcpy(&full, bytes.data(), sizeof full);
    regs.fp.ftw = abridged_x87_tag_word(full);
    return;
  }
  std::memcpy(area_bytes(regs, info.area) + info.offset, bytes.data(), info.size);
}

std::string encode_all_registers(const target::RegisterFile& regs, bool with_avx) {
  std::string hex;
  for (int i = 0; i < register_count(with_avx); ++i) hex += to_hex(read_register(regs, i));
  return hex;
}

Result<void> decode_all_registers(target::RegisterFile& regs, std::string_view hex, bool with_avx) {
  Result<std::vector<uint8_t>> bytes = from_hex(hex);
  if (!bytes) return bytes.error();
  size_t expected = 0;
  for (int i = 0; i < register_count(with_avx); ++i) expected += kRegisters[i].bitsize / 8;
  if (bytes->size() != expected)
    return Error{"G packet carries " + std::to_string(bytes->size()) + " bytes, expected " +
                 std::to_string(expected)};
  std::string_view rest(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  for (int i = 0; i < register_count(with_avx); ++i) {
    size_t size = kRegisters[i].bitsize / 8;
    write_register(regs, i, rest.substr(0, size));
    rest.remove_prefix(size);
  }
  return ok_result();
}

uint16_t full_x87_tag_word(const user_fpregs_struct& fp) {
  const int top = (fp.swd >> 11) & 7;
  uint16_t full = 0;
  for (int physical = 0; physical < 8; ++physical) {
    int tag = kTagEmpty;
    if (fp.ftw & (1u << physical)) {
      // st_space is in stack order: st(i) is physical register (top + i) % 8.
      const int st = (physical - top + 8) % 8;
      const auto* raw = reinterpret_cast<const uint8_t*>(fp.st_space) + 16 * st;
      uint64_t mantissa;
      uint16_t sign_exponent;
      std::memcpy(&mantissa, raw, 8);
      std::memcpy(&sign_exponent, raw + 8, 2);
      const uint16_t exponent = sign_exponent & 0x7fff;
      const bool integer_bit = mantissa >> 63;
      if (exponent == 0x7fff)
        tag = kTagSpecial;
      else if (exponent == 0)
        tag = mantissa == 0 ? kTagZero : kTagSpecial;
      else
        tag = integer_bit ? kTagValid : kTagSpecial;
    }
    full |= static_cast<uint16_t>(tag << (2 * physical));
  }
  return full;
}

uint16_t abridged_x87_tag_word(uint16_t full) {
  uint16_t abridged = 0;
  for (int physical = 0; physical < 8; ++physical)
    if (((full >> (2 * physical)) & 3) != kTagEmpty) abridged |= 1u << physical;
  return abridged;
}

}  // namespace rwd::gdbstub
