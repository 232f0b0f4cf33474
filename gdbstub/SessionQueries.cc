// Capabilities, queries about threads and processes, and the qXfer objects.
#include <algorithm>

#include "gdbstub/Session.h"
#include "gdbstub/TargetDescription.h"

namespace rwd::gdbstub {

namespace {

constexpr std::string_view kTriple = "x86_64-pc-linux-gnu";

// LLDB's qHostInfo: how long it waits for any reply. Reverse execution
// replays from a checkpoint and can take minutes on a long recording; the
// default of a second or so would drop the connection.
constexpr int kPacketTimeoutSeconds = 120;

// A thread's name as the kernel's comm would show it: the executable's
// base name, at most 15 characters.
std::string thread_name(const std::string& exec_file) {
  std::string name = exec_file.substr(exec_file.rfind('/') + 1);
  return name.substr(0, 15);
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<Reply> Session::handle_qSupported(std::string_view args) {
  for (std::string_view feature : split(args, ';')) {
    if (feature == "multiprocess+") client_.multiprocess = true;
    if (feature == "swbreak+") client_.swbreak = true;
    if (feature == "hwbreak+") client_.hwbreak = true;
    // gdb 15 and later: any packet may get "E.<text>" (error_reply).
    if (feature == "error-message+") client_.error_message = true;
    if (feature == "exec-events+") client_.exec_events = true;
  }
  // Not offered: QPassSignals and friends (the recording decides which
  // signals arrive), ConditionalBreakpoints, non-stop, fork events.
  return Reply{"PacketSize=" + hex_number(kMaxPacketSize) +
               ";QStartNoAckMode+;multiprocess+;swbreak+;hwbreak+" +
               (client_.exec_events ? ";exec-events+" : "") +
               ";ReverseContinue+;ReverseStep+"
               ";qXfer:features:read+;qXfer:auxv:read+;qXfer:exec-file:read+"
               ";qXfer:threads:read+;vContSupported+"};
}

Result<Reply> Session::handle_QStartNoAckMode(std::string_view) {
  return Reply{"OK"};  // dispatch() switches modes once this is sent
}

Result<Reply> Session::handle_QEnableErrorStrings(std::string_view) {
  client_.error_strings = true;
  return Reply{"OK"};
}

Result<Reply> Session::handle_QListThreadsInStopReply(std::string_view) {
  client_.threads_in_stop_reply = true;
  return Reply{"OK"};
}

Result<Reply> Session::handle_extended_mode(std::string_view) {
  // Lets gdb "run" again (vRun), which restarts the replay.
  extended_mode_ = true;
  return Reply{"OK"};
}

Result<Reply> Session::handle_qAttached(std::string_view) {
  // "Attached": on quit gdb detaches instead of killing; for a replay both
  // end the session, but detaching avoids gdb's "kill the program?" prompt.
  return Reply{"1"};
}

Result<Reply> Session::handle_qOffsets(std::string_view) {
  // Empty: gdb finds the load addresses from the auxv and the dynamic
  // linker's r_debug, which the replay reproduces exactly.
  return Reply{""};
}

Result<Reply> Session::handle_qSymbol(std::string_view) {
  return Reply{"OK"};  // we need no symbol values from gdb
}

Result<Reply> Session::handle_qHostInfo(std::string_view) {
  return Reply{"triple:" + to_hex(kTriple) +
               ";ptrsize:8;endian:little;ostype:linux;vendor:pc;default_packet_timeout:" +
               std::to_string(kPacketTimeoutSeconds) + ";"};
}

Result<Reply> Session::handle_qProcessInfo(std::string_view) {
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  return Reply{"pid:" + hex_number(static_cast<uint32_t>(t->pid)) + ";triple:" + to_hex(kTriple) +
               ";ostype:linux;endian:little;ptrsize:8;"};
}

Result<Reply> Session::handle_qGDBServerVersion(std::string_view) {
  return Reply{"name:rewind;version:0.1;"};
}

Result<Reply> Session::handle_qRegisterInfo(std::string_view) {
  // LLDB reads the registers from target.xml; E45 is how lldb-server says
  // "no register with that number", which makes LLDB stop asking.
  return Reply{"E45"};
}

Result<Reply> Session::handle_qC(std::string_view) {
  return Reply{"QC" + format_thread_id(target_.current_thread(), client_.multiprocess)};
}

Result<Reply> Session::handle_qfThreadInfo(std::string_view) {
  std::string reply = "m";
  for (const target::ThreadId& t : target_.threads()) {
    if (reply.size() > 1) reply += ",";
    reply += format_thread_id(t, client_.multiprocess);
  }
  // An empty list must still be "l", or gdb keeps asking.
  return Reply{reply.size() > 1 ? reply : "l"};
}

Result<Reply> Session::handle_qsThreadInfo(std::string_view) {
  return Reply{"l"};  // qfThreadInfo sent them all
}

Result<Reply> Session::handle_qThreadExtraInfo(std::string_view args) {
  Result<ThreadSelector> sel = parse_thread_id(args);
  if (!sel) return sel.error();
  Result<target::ThreadId> t = resolve_thread(*sel);
  if (!t) return t.error();
  Result<std::string> exe = target_.exec_file(t->pid);
  std::string info = exe ? thread_name(*exe) : std::string("thread");
  info += ", replayed";
  return Reply{to_hex(info)};
}

Result<Reply> Session::xfer_reply(std::string_view object, uint64_t offset, uint64_t length) {
  if (offset >= object.size()) return Reply{"l"};
  // Escaping can double each byte; stay inside the PacketSize we offered.
  const uint64_t chunk =
      std::min<uint64_t>({length, object.size() - offset, kMaxPacketSize / 2 - 1});
  const bool last = offset + chunk == object.size();
  return Reply{(last ? "l" : "m") + escape_binary(object.substr(offset, chunk))};
}

Result<Reply> Session::handle_qXfer_features_read(std::string_view args) {
  Result<XferRead> req = parse_xfer_read(args);
  if (!req) return req.error();
  std::optional<std::string> doc = target_description_annex(req->annex, tdesc_has_avx());
  if (!doc) return Error{"no target description annex '" + std::string(req->annex) + "'"};
  return xfer_reply(*doc, req->offset, req->length);
}

Result<Reply> Session::handle_qXfer_auxv_read(std::string_view args) {
  Result<XferRead> req = parse_xfer_read(args);
  if (!req) return req.error();
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<std::vector<uint8_t>> auxv = target_.auxv(t->pid);
  if (!auxv) return auxv.error();
  std::string_view bytes(reinterpret_cast<const char*>(auxv->data()), auxv->size());
  return xfer_reply(bytes, req->offset, req->length);
}

Result<Reply> Session::handle_qXfer_exec_file_read(std::string_view args) {
  Result<XferRead> req = parse_xfer_read(args);
  if (!req) return req.error();
  // The annex is the pid in hex; empty means the current process.
  pid_t pid;
  if (req->annex.empty()) {
    Result<target::ThreadId> t = general_thread();
    if (!t) return t.error();
    pid = t->pid;
  } else {
    Result<uint64_t> p = parse_hex_number(req->annex);
    if (!p) return p.error();
    pid = static_cast<pid_t>(*p);
  }
  Result<std::string> exe = target_.exec_file(pid);
  if (!exe) return exe.error();
  return xfer_reply(*exe, req->offset, req->length);
}

Result<Reply> Session::handle_qXfer_threads_read(std::string_view args) {
  Result<XferRead> req = parse_xfer_read(args);
  if (!req) return req.error();
  std::string xml = "<?xml version=\"1.0\"?>\n<threads>\n";
  for (const target::ThreadId& t : target_.threads()) {
    Result<std::string> exe = target_.exec_file(t.pid);
    xml += "  <thread id=\"" + format_thread_id(t, client_.multiprocess) + "\"";
    if (exe) xml += " name=\"" + xml_escape(thread_name(*exe)) + "\"";
    xml += "/>\n";
  }
  xml += "</threads>\n";
  return xfer_reply(xml, req->offset, req->length);
}

}  // namespace rwd::gdbstub
