// Turns packet text into values: hex numbers, byte strings, gdb thread ids
// and the argument lists of the packets with structure. Every parser returns
// a Result whose error says what was wrong, so a malformed packet becomes an
// E reply (style.md, point 4); none of them trust a length the client sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/Target.h"
#include "core/base/Error.h"

namespace rwd::gdbstub {

// --- hex
// 0-15 for a hex digit (either case), -1 otherwise.
int hex_digit_value(char c);
void append_hex_byte(std::string& out, uint8_t byte);
std::string to_hex(const void* data, size_t len);
inline std::string to_hex(std::string_view s) {
  return to_hex(s.data(), s.size());
}
// A number in lower-case hex without leading zeros, as gdb writes them.
std::string hex_number(uint64_t value);
// Decodes pairs of hex digits.
Result<std::vector<uint8_t>> from_hex(std::string_view hex);
// Undoes escape_binary(): '}' x stands for x ^ 0x20.
Result<std::vector<uint8_t>> unescape_binary(std::string_view data);
// A whole-string hex number (no sign, at most 16 digits).
Result<uint64_t> parse_hex_number(std::string_view s);

// --- thread ids ("thread-id syntax" in the manual)
// One side of a thread id: a specific id, or the special values the
// protocol gives -1 (all) and 0 (any).
inline constexpr int64_t kAllThreads = -1;
inline constexpr int64_t kAnyThread = 0;
struct ThreadSelector {
  std::optional<int64_t> pid;  // only in the multiprocess form p<pid>.<tid>
  int64_t tid = kAnyThread;
  bool operator==(const ThreadSelector&) const = default;
};
Result<ThreadSelector> parse_thread_id(std::string_view s);
// "p<pid>.<tid>" when the client speaks multiprocess, else "<tid>".
std::string format_thread_id(target::ThreadId t, bool multiprocess);

// --- arguments of particular packets
struct MemoryRange {
  uint64_t addr = 0;
  uint64_t len = 0;
};
// "addr,length" (m, x).
Result<MemoryRange> parse_memory_range(std::string_view args);

struct MemoryWrite {
  MemoryRange range;
  std::string_view data;  // still hex (M) or escaped binary (X)
};
// "addr,length:data" (M, X).
Result<MemoryWrite> parse_memory_write(std::string_view args);

struct BreakpointRequest {
  int type = 0;  // 0 software, 1 hardware, 2 write, 3 read, 4 access watchpoint
  uint64_t addr = 0;
  uint64_t kind = 0;  // instruction length for breakpoints, byte count for watchpoints
};
// "type,addr,kind[;cond...]" (Z, z); conditions and commands are ignored
// because qSupported does not offer ConditionalBreakpoints.
Result<BreakpointRequest> parse_breakpoint(std::string_view args);

struct VContAction {
  char action = 'c';                     // c, C, s or S
  int signal = 0;                        // for C and S
  std::optional<ThreadSelector> thread;  // absent: applies to every thread
};
// "action[:thread-id];..." (what follows "vCont;").
Result<std::vector<VContAction>> parse_vcont(std::string_view args);

struct XferRead {
  std::string_view annex;
  uint64_t offset = 0;
  uint64_t length = 0;
};
// "annex:offset,length" (qXfer:object:read:).
Result<XferRead> parse_xfer_read(std::string_view args);

// Splits "a,b,c" on `sep`.
std::vector<std::string_view> split(std::string_view s, char sep);

}  // namespace rwd::gdbstub
