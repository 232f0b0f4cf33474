#include "gdbstub/PacketParser.h"

#include <cstdio>

namespace rwd::gdbstub {

namespace {

Error malformed(std::string_view what, std::string_view text) {
  return Error{std::string(what) + " in '" + std::string(text.substr(0, 40)) + "'"};
}

// Splits at the first `sep`; the second half is absent if there is none.
std::pair<std::string_view, std::optional<std::string_view>> split_once(std::string_view s,
                                                                        char sep) {
  size_t at = s.find(sep);
  if (at == std::string_view::npos) return {s, std::nullopt};
  return {s.substr(0, at), s.substr(at + 1)};
}

// A thread-id component: hex, or "-1" for all.
Result<int64_t> parse_id_component(std::string_view s) {
  if (s == "-1") return kAllThreads;
  Result<uint64_t> v = parse_hex_number(s);
  if (!v) return v.error();
  // Real pids and tids fit in 31 bits; anything bigger is a corrupt id.
  if (*v > 0x7fffffff) return malformed("thread id out of range", s);
  return static_cast<int64_t>(*v);
}

}  // namespace

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_hex_byte(std::string& out, uint8_t byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out.push_back(kDigits[byte >> 4]);
  out.push_back(kDigits[byte & 0xf]);
}

std::string to_hex(const void* data, size_t len) {
  std::string out;
  out.reserve(len * 2);
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; ++i) append_hex_byte(out, bytes[i]);
  return out;
}

std::string hex_number(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(value));
  return buf;
}

Result<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return malformed("odd number of hex digits", hex);
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]);
    int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return malformed("not a hex byte", hex.substr(2 * i));
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

Result<std::vector<uint8_t>> unescape_binary(std::string_view data) {
  std::vector<uint8_t> out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '}') {
      out.push_back(static_cast<uint8_t>(data[i]));
      continue;
    }
    if (++i == data.size()) return Error{"binary data ends in the escape character '}'"};
    out.push_back(static_cast<uint8_t>(data[i] ^ 0x20));
  }
  return out;
}

Result<uint64_t> parse_hex_number(std::string_view s) {
  if (s.empty()) return malformed("expected a hex number", s);
  if (s.size() > 16) return malformed("hex number too long", s);
  uint64_t v = 0;
  for (char c : s) {
    int d = hex_digit_value(c);
    if (d < 0) return malformed("expected a hex number", s);
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

Result<ThreadSelector> parse_thread_id(std::string_view s) {
  ThreadSelector sel;
  if (s.starts_with('p')) {
    auto [pid, tid] = split_once(s.substr(1), '.');
    Result<int64_t> p = parse_id_component(pid);
    if (!p) return p.error();
    sel.pid = *p;
    // "p<pid>" alone names every thread of the process.
    sel.tid = kAllThreads;
    if (tid) {
      Result<int64_t> t = parse_id_component(*tid);
      if (!t) return t.error();
      sel.tid = *t;
    }
    return sel;
  }
  Result<int64_t> t = parse_id_component(s);
  if (!t) return t.error();
  sel.tid = *t;
  return sel;
}

std::string format_thread_id(target::ThreadId t, bool multiprocess) {
  if (!multiprocess) return hex_number(static_cast<uint32_t>(t.tid));
  return "p" + hex_number(static_cast<uint32_t>(t.pid)) + "." +
         hex_number(static_cast<uint32_t>(t.tid));
}

Result<MemoryRange> parse_memory_range(std::string_view args) {
  auto [addr, len] = split_once(args, ',');
  if (!len) return malformed("expected addr,length", args);
  Result<uint64_t> a = parse_hex_number(addr);
  if (!a) return a.error();
  Result<uint64_t> l = parse_hex_number(*len);
  if (!l) return l.error();
  return MemoryRange{*a, *l};
}

Result<MemoryWrite> parse_memory_write(std::string_view args) {
  auto [range, data] = split_once(args, ':');
  if (!data) return malformed("expected addr,length:data", args);
  Result<MemoryRange> r = parse_memory_range(range);
  if (!r) return r.error();
  return MemoryWrite{*r, *data};
}

Result<BreakpointRequest> parse_breakpoint(std::string_view args) {
  auto [fields, conditions] = split_once(args, ';');
  std::vector<std::string_view> parts = split(fields, ',');
  if (parts.size() != 3 || parts[0].size() != 1) return malformed("expected type,addr,kind", args);
  int type = hex_digit_value(parts[0][0]);
  if (type < 0) return malformed("bad breakpoint type", args);
  Result<uint64_t> addr = parse_hex_number(parts[1]);
  if (!addr) return addr.error();
  Result<uint64_t> kind = parse_hex_number(parts[2]);
  if (!kind) return kind.error();
  return BreakpointRequest{type, *addr, *kind};
}

Result<std::vector<VContAction>> parse_vcont(std::string_view args) {
  std::vector<VContAction> actions;
  for (std::string_view item : split(args, ';')) {
    auto [verb, thread] = split_once(item, ':');
    if (verb.empty()) return malformed("empty vCont action", args);
    VContAction a;
    a.action = verb[0];
    if (a.action == 'C' || a.action == 'S') {
      Result<uint64_t> sig = parse_hex_number(verb.substr(1));
      if (!sig) return sig.error();
      if (*sig > 0xff) return malformed("signal number out of range", verb);
      a.signal = static_cast<int>(*sig);
    } else if ((a.action != 'c' && a.action != 's') || verb.size() != 1) {
      // 't' and 'r' are not offered by our vCont? reply.
      return malformed("unsupported vCont action", verb);
    }
    if (thread) {
      Result<ThreadSelector> t = parse_thread_id(*thread);
      if (!t) return t.error();
      a.thread = *t;
    }
    actions.push_back(a);
  }
  return actions;
}

Result<XferRead> parse_xfer_read(std::string_view args) {
  size_t colon = args.rfind(':');
  if (colon == std::string_view::npos) return malformed("expected annex:offset,length", args);
  Result<MemoryRange> r = parse_memory_range(args.substr(colon + 1));
  if (!r) return r.error();
  return XferRead{args.substr(0, colon), r->addr, r->len};
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s = s.substr(at + 1);
  }
  return out;
}

}  // namespace rwd::gdbstub
