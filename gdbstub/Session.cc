#include "gdbstub/Session.h"

#include <signal.h>

#include "core/base/Log.h"
#include "gdbstub/StopReply.h"

namespace rwd::gdbstub {

Session::Session(target::Target& target, SessionHost& host) : target_(target), host_(host) {}

// The one table from packet names to handlers, as LLDB's
// GDBRemoteCommunicationServerLLGS::RegisterPacketHandlers. A packet goes to
// the longest name it matches; anything else gets the empty reply that
// tells the client "not supported".
std::span<const Session::PacketHandler> Session::packet_handlers() {
  static constexpr PacketHandler kPacketHandlers[] = {
      {"!", Args::Immediate, &Session::handle_extended_mode},
      {"?", Args::Immediate, &Session::handle_question_mark},
      {"bc", Args::Delimited, &Session::handle_bc},
      {"bs", Args::Delimited, &Session::handle_bs},
      {"c", Args::Immediate, &Session::handle_c},
      {"C", Args::Immediate, &Session::handle_C},
      {"D", Args::Immediate, &Session::handle_D},
      {"g", Args::Immediate, &Session::handle_g},
      {"G", Args::Immediate, &Session::handle_G},
      {"H", Args::Immediate, &Session::handle_H},
      {"k", Args::Immediate, &Session::handle_k},
      {"m", Args::Immediate, &Session::handle_m},
      {"M", Args::Immediate, &Session::handle_M},
      {"p", Args::Immediate, &Session::handle_p},
      {"P", Args::Immediate, &Session::handle_P},
      {"s", Args::Immediate, &Session::handle_s},
      {"S", Args::Immediate, &Session::handle_S},
      {"T", Args::Immediate, &Session::handle_T},
      {"x", Args::Immediate, &Session::handle_x},
      {"X", Args::Immediate, &Session::handle_X},
      {"z", Args::Immediate, &Session::handle_z},
      {"Z", Args::Immediate, &Session::handle_Z},
      {"qAttached", Args::Delimited, &Session::handle_qAttached},
      {"qC", Args::Delimited, &Session::handle_qC},
      {"qfThreadInfo", Args::Delimited, &Session::handle_qfThreadInfo},
      {"qGDBServerVersion", Args::Delimited, &Session::handle_qGDBServerVersion},
      {"qHostInfo", Args::Delimited, &Session::handle_qHostInfo},
      {"qOffsets", Args::Delimited, &Session::handle_qOffsets},
      {"qProcessInfo", Args::Delimited, &Session::handle_qProcessInfo},
      {"qRcmd", Args::Delimited, &Session::handle_qRcmd},
      {"qRewindFiles", Args::Delimited, &Session::handle_qRewindFiles},
      {"qRegisterInfo", Args::Immediate, &Session::handle_qRegisterInfo},
      {"qsThreadInfo", Args::Delimited, &Session::handle_qsThreadInfo},
      {"qSupported", Args::Delimited, &Session::handle_qSupported},
      {"qSymbol", Args::Delimited, &Session::handle_qSymbol},
      {"qThreadExtraInfo", Args::Delimited, &Session::handle_qThreadExtraInfo},
      {"qXfer:auxv:read", Args::Delimited, &Session::handle_qXfer_auxv_read},
      {"qXfer:exec-file:read", Args::Delimited, &Session::handle_qXfer_exec_file_read},
      {"qXfer:features:read", Args::Delimited, &Session::handle_qXfer_features_read},
      {"qXfer:threads:read", Args::Delimited, &Session::handle_qXfer_threads_read},
      {"QEnableErrorStrings", Args::Delimited, &Session::handle_QEnableErrorStrings},
      {"QListThreadsInStopReply", Args::Delimited, &Session::handle_QListThreadsInStopReply},
      {"QRewindContinue", Args::Delimited, &Session::handle_QRewindContinue},
      {"QRewindLineStep", Args::Delimited, &Session::handle_QRewindLineStep},
      {"QRewindRestart", Args::Delimited, &Session::handle_QRewindRestart},
      {"QRewindSeek", Args::Delimited, &Session::handle_QRewindSeek},
      {"QRewindStepi", Args::Delimited, &Session::handle_QRewindStepi},
      {"QStartNoAckMode", Args::Delimited, &Session::handle_QStartNoAckMode},
      {"vCont", Args::Delimited, &Session::handle_vCont},
      {"vCont?", Args::Delimited, &Session::handle_vCont_query},
      {"vFile:close", Args::Delimited, &Session::handle_vFile_close},
      {"vFile:fstat", Args::Delimited, &Session::handle_vFile_fstat},
      {"vFile:open", Args::Delimited, &Session::handle_vFile_open},
      {"vFile:pread", Args::Delimited, &Session::handle_vFile_pread},
      {"vFile:setfs", Args::Delimited, &Session::handle_vFile_setfs},
      {"vKill", Args::Delimited, &Session::handle_vKill},
      {"vRun", Args::Delimited, &Session::handle_vRun},
  };
  return kPacketHandlers;
}

namespace {
// The packets a client answers with a stop reply, waiting for it.
bool resumes(std::string_view name) {
  for (std::string_view r : {"vCont", "c", "C", "s", "S", "bc", "bs"})
    if (name == r) return true;
  return false;
}
}  // namespace

void Session::dispatch(std::string_view packet) {
  // The longest name that matches, and the arguments after it.
  const PacketHandler* best = nullptr;
  std::string_view best_args;
  for (const PacketHandler& h : packet_handlers()) {
    if (!packet.starts_with(h.name)) continue;
    if (best && best->name.size() >= h.name.size()) continue;
    std::string_view rest = packet.substr(h.name.size());
    if (h.args == Args::Delimited && !rest.empty()) {
      // "qC" must not claim "qCRC:...": a longer name needs a delimiter.
      if (rest[0] != ':' && rest[0] != ';' && rest[0] != ',') continue;
      rest.remove_prefix(1);
    }
    best = &h;
    best_args = rest;
  }
  if (!best) {
    send_packet("");  // "not supported"
    return;
  }
  Result<Reply> reply = (this->*best->handler)(best_args);
  if (!reply.ok()) {
    send_error(best->name, reply.error(), resumes(best->name));
    return;
  }
  if (reply->none) return;
  send_packet(reply->body);
  // The switch happens after the OK, which the client still expects acked:
  // the manual's QStartNoAckMode.
  if (best->handler == &Session::handle_QStartNoAckMode) {
    ack_mode_ = false;
    decoder_.set_checksums_verified(false);
  }
}

void Session::on_bytes(std::string_view bytes) {
  std::vector<ClientEvent> events;
  decoder_.feed(bytes, events);
  for (ClientEvent& e : events) {
    if (finished_) return;
    if (job_running_) {
      if (e.kind == ClientEvent::Kind::Interrupt) {
        REWIND_LOG(Packets, "<- ^C (interrupting the target)");
        host_.interrupt_job();
      } else if (e.kind == ClientEvent::Kind::Ack || e.kind == ClientEvent::Kind::Nack) {
        // Nothing to resend while the stop reply is pending, and an ack
        // changes nothing.
      } else if (overflowed_ == 0 && queued_.size() < kMaxQueuedEvents) {
        // gdb in all-stop mode waits for the stop reply before it sends
        // more, so this is rare; keep the order the client meant.
        queued_.push_back(std::move(e));
      } else {
        ++overflowed_;
      }
      continue;
    }
    handle_event(std::move(e));
  }
}

void Session::on_job_done(Result<target::StopInfo> stop) {
  REWIND_ASSERT(job_running_);
  job_running_ = false;
  if (stop.ok()) {
    last_stop_ = *stop;
    // As gdbserver does, later register and memory packets are about the
    // thread that stopped until the client picks another.
    general_thread_ = ThreadSelector{};
    continue_thread_ = ThreadSelector{};
    send_packet(stop_reply(*stop));
  } else {
    // gdb takes an error in place of a stop reply for a stop with no signal
    // and re-reads the registers: the target must be where it stood before
    // (ReplayTarget keeps it there) or say where it is now.
    send_error(job_packet_, stop.error(), job_packet_ != "vRun");
  }
  while (!queued_.empty() && !job_running_ && !finished_) {
    ClientEvent e = std::move(queued_.front());
    queued_.pop_front();
    handle_event(std::move(e));
  }
  // The overflow came after everything queued, and a packet above may have
  // started another job: then these wait for its end too.
  while (overflowed_ > 0 && !job_running_ && !finished_) {
    --overflowed_;
    handle_event({ClientEvent::Kind::Rejected, "too many packets while the target ran"});
  }
}

void Session::handle_event(ClientEvent event) {
  using Kind = ClientEvent::Kind;
  switch (event.kind) {
    case Kind::Ack:
      break;
    case Kind::Nack:
      REWIND_LOG(Packets, "<- - (resending)");
      if (!last_sent_.empty()) host_.send(last_sent_);
      break;
    case Kind::Interrupt:
      // Nothing runs, so there is nothing to stop; gdb only sends this
      // while it waits for a stop reply.
      REWIND_LOG(Packets, "<- ^C while stopped: ignored");
      break;
    case Kind::BadChecksum:
      REWIND_LOG(Packets, "<- packet with a bad checksum");
      if (ack_mode_) host_.send("-");
      break;
    case Kind::Rejected:
      if (ack_mode_) host_.send("+");
      send_error("packet", Error{event.body}, false);
      break;
    case Kind::Packet:
      REWIND_LOG(Packets, "<- %s", printable(event.body).c_str());
      if (ack_mode_) host_.send("+");
      dispatch(event.body);
      break;
  }
}

void Session::send_packet(std::string_view body) {
  REWIND_LOG(Packets, "-> %s", printable(body).c_str());
  last_sent_ = frame_packet(body);
  host_.send(last_sent_);
}

void Session::send_error(std::string_view packet, const Error& error, bool awaiting_stop) {
  // On stderr: a debugger shows at best the text it was sent, and gdb
  // before 15 shows none of it for most packets. Except memory reads:
  // debuggers probe unmapped addresses as a matter of course (gdb reads
  // unrelocated addresses at every connect), and "no memory there" is an
  // answer, not a failure worth a line each time.
  const bool probe = packet == "m" || packet == "x";
  if (!probe)
    warn("%.*s failed: %s", static_cast<int>(packet.size()), packet.data(), error.message.c_str());
  else
    REWIND_LOG(Packets, "   %.*s failed: %s", static_cast<int>(packet.size()), packet.data(),
               error.message.c_str());
  // LLDB takes an error in place of a stop reply for a lost connection and
  // marks the process exited. A stop where the program stands, with the
  // reason as the stop's description, keeps its session (LLDB shows "stop
  // reason = <text>"). Only LLDB sends QEnableErrorStrings.
  if (awaiting_stop && client_.error_strings) {
    target::StopInfo here;
    here.kind = target::StopKind::Signal;
    here.signo = SIGTRAP;
    here.thread = target_.current_thread();
    send_packet(stop_reply(here) +
                "reason:exception;description:" + to_hex("rewind: " + error.message) + ";");
    return;
  }
  // While gdb waits for a stop reply it prints console output as it comes,
  // so a gdb that reads no error text still sees why.
  if (awaiting_stop && !client_.error_message && !client_.error_strings)
    send_console_output("rewind: " + error.message + "\n");
  send_packet(error_reply(error));
}

std::string Session::error_reply(const Error& error) const {
  // The number carries no meaning gdb acts on. gdb 15 announces
  // error-message+ and then reads "E.<text>" for any packet; the manual's
  // "Standard Replies" has E.errtext, but older gdbs take it for data in
  // answer to m or qRcmd, so only a client that asked gets it. With LLDB's
  // QEnableErrorStrings the message follows as hex ("E<nn>;<hex text>", see
  // lldb/docs/resources/lldbgdbremote.md), which LLDB shows to the user;
  // LLDB reads no "E." form.
  if (client_.error_message) {
    std::string text;
    for (char c : error.message) text.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
    // '$', '#', '}' and '*' would end or re-encode the packet.
    return "E." + escape_binary(text);
  }
  if (client_.error_strings) return "E01;" + to_hex(error.message);
  return "E01";
}

void Session::send_console_output(std::string_view text) {
  if (!text.empty()) send_packet("O" + to_hex(text));
}

void Session::start_job(std::string_view name, std::function<Result<target::StopInfo>()> job) {
  REWIND_ASSERT(!job_running_);
  job_running_ = true;
  job_packet_ = name;
  host_.start_job(std::move(job));
}

std::string Session::stop_reply(const target::StopInfo& stop) {
  std::vector<target::ThreadId> threads;
  StopReplyStyle style{client_.multiprocess, client_.swbreak, client_.hwbreak, client_.exec_events,
                       nullptr};
  if (client_.threads_in_stop_reply) {
    threads = target_.threads();
    style.all_threads = &threads;
  }
  if (job_packet_.starts_with("QRewind")) style.move_description = move_description_;
  return format_stop_reply(stop, style);
}

}  // namespace rwd::gdbstub
