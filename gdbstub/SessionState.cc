// Registers, memory and breakpoints.
#include <algorithm>
#include <cstdint>

#include "gdbstub/Registers.h"
#include "gdbstub/Session.h"

namespace rwd::gdbstub {

namespace {

// Reads are capped so the reply fits in the PacketSize we offered: hex
// doubles every byte, and binary escaping can too.
constexpr uint64_t kMaxReadLength = kMaxPacketSize / 2 - 1;

std::string_view as_chars(const std::vector<uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

// The bytes from `addr` to the top of the address space, where a range
// that runs further would wrap around to address 0.
uint64_t bytes_to_top(uint64_t addr) {
  return addr == 0 ? UINT64_MAX : 0 - addr;
}

Result<std::string> read_some_memory(target::Target& target, pid_t pid, const MemoryRange& r) {
  // A read that would wrap is cut at the top, as any short read is.
  std::string buf(std::min({r.len, kMaxReadLength, bytes_to_top(r.addr)}), '\0');
  Result<size_t> n = target.read_memory(pid, r.addr, buf.data(), buf.size());
  if (!n) return n.error();
  // A short read is a fine answer (gdb asks again for the rest); none at
  // all is the error gdb shows as "Cannot access memory".
  if (*n == 0) return Error{"cannot read memory at 0x" + hex_number(r.addr)};
  buf.resize(*n);
  return buf;
}

Result<void> check_write_range(const MemoryRange& r) {
  if (r.len > bytes_to_top(r.addr))
    return Error{"write past the end of the address space at 0x" + hex_number(r.addr)};
  return ok_result();
}

// x86 has four debug registers, each watching 1, 2, 4 or 8 bytes aligned
// to their size; gdb sends a watchpoint on a 16-byte struct as one Z2
// packet. The range is split into such pieces, and one that needs more
// registers than exist is refused rather than split without bound (the
// length is the client's: "Z2,0,ffffffffffffffff" would otherwise ask for
// 2^61 pieces). gdb reports a refused watchpoint as one it could not
// insert; a software watchpoint ("set can-use-hw-watchpoints 0") covers
// any length.
constexpr size_t kDebugRegisters = 4;

Result<std::vector<MemoryRange>> watch_pieces(uint64_t addr, uint64_t len) {
  if (len == 0) return Error{"zero-length watchpoint"};
  if (len > bytes_to_top(addr)) return Error{"watchpoint wraps around the address space"};
  std::vector<MemoryRange> pieces;
  while (len > 0) {
    if (pieces.size() == kDebugRegisters)
      return Error{"watchpoint needs more than " + std::to_string(kDebugRegisters) +
                   " debug registers"};
    uint64_t size = 8;
    while (size > len || addr % size != 0) size /= 2;
    pieces.push_back({addr, size});
    addr += size;
    len -= size;
  }
  return pieces;
}

}  // namespace

Result<Reply> Session::handle_g(std::string_view) {
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<target::RegisterFile> regs = target_.registers(*t);
  if (!regs) return regs.error();
  return Reply{encode_all_registers(*regs, tdesc_has_avx())};
}

Result<Reply> Session::handle_G(std::string_view args) {
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<target::RegisterFile> regs = target_.registers(*t);
  if (!regs) return regs.error();
  REWIND_TRY(decode_all_registers(*regs, args, tdesc_has_avx()));
  REWIND_TRY(target_.set_registers(*t, *regs));
  return Reply{"OK"};
}

Result<Reply> Session::handle_p(std::string_view args) {
  Result<uint64_t> regnum = parse_hex_number(args);
  if (!regnum) return regnum.error();
  if (*regnum >= static_cast<uint64_t>(register_count(tdesc_has_avx())))
    return Error{"no register " + std::to_string(*regnum)};
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<target::RegisterFile> regs = target_.registers(*t);
  if (!regs) return regs.error();
  return Reply{to_hex(read_register(*regs, static_cast<int>(*regnum)))};
}

Result<Reply> Session::handle_P(std::string_view args) {
  std::vector<std::string_view> parts = split(args, '=');
  if (parts.size() != 2) return Error{"expected P<regnum>=<value>"};
  Result<uint64_t> regnum = parse_hex_number(parts[0]);
  if (!regnum) return regnum.error();
  if (*regnum >= static_cast<uint64_t>(register_count(tdesc_has_avx())))
    return Error{"no register " + std::to_string(*regnum)};
  const RegisterInfo& info = amd64_registers()[*regnum];
  Result<std::vector<uint8_t>> value = from_hex(parts[1]);
  if (!value) return value.error();
  if (value->size() != static_cast<size_t>(info.bitsize / 8))
    return Error{std::string(info.name) + " takes " + std::to_string(info.bitsize / 8) + " bytes"};
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<target::RegisterFile> regs = target_.registers(*t);
  if (!regs) return regs.error();
  write_register(*regs, static_cast<int>(*regnum), as_chars(*value));
  REWIND_TRY(target_.set_registers(*t, *regs));
  return Reply{"OK"};
}

Result<Reply> Session::handle_m(std::string_view args) {
  Result<MemoryRange> range = parse_memory_range(args);
  if (!range) return range.error();
  if (range->len == 0) return Reply{""};
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<std::string> bytes = read_some_memory(target_, t->pid, *range);
  if (!bytes) return bytes.error();
  return Reply{to_hex(*bytes)};
}

Result<Reply> Session::handle_x(std::string_view args) {
  Result<MemoryRange> range = parse_memory_range(args);
  if (!range) return range.error();
  // LLDB probes for the packet with "x0,0" and wants OK.
  if (range->len == 0) return Reply{"OK"};
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<std::string> bytes = read_some_memory(target_, t->pid, *range);
  if (!bytes) return bytes.error();
  return Reply{escape_binary(*bytes)};
}

Result<Reply> Session::handle_M(std::string_view args) {
  Result<MemoryWrite> w = parse_memory_write(args);
  if (!w) return w.error();
  Result<std::vector<uint8_t>> data = from_hex(w->data);
  if (!data) return data.error();
  if (data->size() != w->range.len) return Error{"M length does not match its data"};
  if (data->empty()) return Reply{"OK"};
  REWIND_TRY(check_write_range(w->range));
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  REWIND_TRY(target_.write_memory(t->pid, w->range.addr, data->data(), data->size()));
  return Reply{"OK"};
}

Result<Reply> Session::handle_X(std::string_view args) {
  Result<MemoryWrite> w = parse_memory_write(args);
  if (!w) return w.error();
  Result<std::vector<uint8_t>> data = unescape_binary(w->data);
  if (!data) return data.error();
  if (data->size() != w->range.len) return Error{"X length does not match its data"};
  // gdb probes for X support with a zero-length write.
  if (data->empty()) return Reply{"OK"};
  REWIND_TRY(check_write_range(w->range));
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  REWIND_TRY(target_.write_memory(t->pid, w->range.addr, data->data(), data->size()));
  return Reply{"OK"};
}

Result<Reply> Session::handle_Z(std::string_view args) {
  return breakpoint(args, /*insert=*/true);
}

Result<Reply> Session::handle_z(std::string_view args) {
  return breakpoint(args, /*insert=*/false);
}

Result<Reply> Session::breakpoint(std::string_view args, bool insert) {
  using target::BreakpointType;
  Result<BreakpointRequest> req = parse_breakpoint(args);
  if (!req) return req.error();
  static constexpr BreakpointType kTypes[] = {
      BreakpointType::Software,  BreakpointType::Hardware,    BreakpointType::WriteWatch,
      BreakpointType::ReadWatch, BreakpointType::AccessWatch,
  };
  // Z5 and up do not exist yet; empty means "not supported", as for any
  // packet we do not know.
  if (req->type > 4) return Reply{""};
  const BreakpointType type = kTypes[req->type];

  auto apply = [&](uint64_t addr, size_t len) {
    return insert ? target_.add_breakpoint(type, addr, len)
                  : target_.remove_breakpoint(type, addr, len);
  };
  if (type == BreakpointType::Software || type == BreakpointType::Hardware) {
    // The kind is the instruction length gdb would patch; on x86 an int3
    // is one byte whatever the instruction is.
    REWIND_TRY(apply(req->addr, 1));
    return Reply{"OK"};
  }
  Result<std::vector<MemoryRange>> split = watch_pieces(req->addr, req->kind);
  if (!split) return split.error();
  const std::vector<MemoryRange>& pieces = *split;
  std::optional<Error> removal_error;
  for (size_t i = 0; i < pieces.size(); ++i) {
    Result<void> r = apply(pieces[i].addr, pieces[i].len);
    if (r.ok()) continue;
    if (!insert) {
      // Remove what can be removed; report the first failure.
      if (!removal_error) removal_error = r.error();
      continue;
    }
    // All or nothing: after an error gdb believes the watchpoint absent.
    for (size_t j = 0; j < i; ++j)
      (void)target_.remove_breakpoint(type, pieces[j].addr, pieces[j].len);
    return r.error();
  }
  if (removal_error) return *removal_error;
  return Reply{"OK"};
}

}  // namespace rwd::gdbstub
