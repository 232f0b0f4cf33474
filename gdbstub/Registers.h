// The amd64 registers as gdb numbers them, and where each one lives in
// target::RegisterFile. One table drives the g/G/p/P packets and the
// target description (TargetDescription.cc), so the XML gdb reads and the
// byte layout we send cannot drift apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/api/Target.h"
#include "core/base/Error.h"

namespace rwd::gdbstub {

// The target-description features of the "i386 Features" section of the gdb
// manual, in the order their registers are numbered.
enum class RegisterFeature { Core, Sse, Linux, Segments, Avx };

struct RegisterInfo {
  const char* name;
  int bitsize;
  const char* type;   // a gdb tdesc type: int64, code_ptr, i387_ext, vec128, ...
  const char* group;  // nullptr: gdb's default for the type
  RegisterFeature feature;
  // Where the value is kept. Most registers are a plain byte range of one
  // of RegisterFile's parts; `size` may be smaller than bitsize/8, the rest
  // reading as zero (fctrl is 32 bits in gdb, 16 in the FXSAVE image).
  enum class Area { Gp, Fp, YmmHi, FpTag } area;
  size_t offset;
  size_t size;
};

// Indexed by gdb register number (the regnum in our target description).
std::span<const RegisterInfo> amd64_registers();
// The first register of the AVX feature; registers from here on exist only
// when the description includes that feature.
inline constexpr int kFirstAvxRegister = 60;
inline constexpr int kRipRegister = 16;

// How many registers the g packet carries.
inline int register_count(bool with_avx) {
  return with_avx ? static_cast<int>(amd64_registers().size()) : kFirstAvxRegister;
}

// The register's bytes, little-endian, bitsize/8 of them.
std::string read_register(const target::RegisterFile& regs, int regnum);
// Stores bitsize/8 bytes into the register; bytes beyond what RegisterFile
// keeps must be zero-extension and are dropped.
void write_register(target::RegisterFile& regs, int regnum, std::string_view bytes);

// The g packet body: every register in number order, as hex.
std::string encode_all_registers(const target::RegisterFile& regs, bool with_avx);
// Applies a G packet body to `regs`.
Result<void> decode_all_registers(target::RegisterFile& regs, std::string_view hex, bool with_avx);

// The x87 tag word in gdb's full two-bit form, computed from the abridged
// one-bit-per-register form FXSAVE keeps (as gdbserver's
// i387_fxsave_to_cache does), and back.
uint16_t full_x87_tag_word(const user_fpregs_struct& fp);
uint16_t abridged_x87_tag_word(uint16_t full);

}  // namespace rwd::gdbstub
