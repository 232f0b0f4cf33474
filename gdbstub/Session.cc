#include "gdbstub/Session.h"

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
    REWIND_LOG(Packets, "   %s failed: %s", std::string(best->name).c_str(),
               reply.error().message.c_str());
    send_packet(error_reply(reply.error()));
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
    REWIND_LOG(Packets, "   resume failed: %s", stop.error().message.c_str());
    send_packet(error_reply(stop.error()));
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
      REWIND_LOG(Packets, "<- unusable packet: %s", event.body.c_str());
      if (ack_mode_) host_.send("+");
      send_packet(error_reply(Error{event.body}));
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

std::string Session::error_reply(const Error& error) const {
  // The number carries no meaning gdb acts on. With LLDB's
  // QEnableErrorStrings the message follows as hex ("E<nn>;<hex text>", see
  // lldb/docs/resources/lldbgdbremote.md), which LLDB shows to the user.
  if (client_.error_strings) return "E01;" + to_hex(error.message);
  return "E01";
}

void Session::send_console_output(std::string_view text) {
  if (!text.empty()) send_packet("O" + to_hex(text));
}

void Session::start_job(std::function<Result<target::StopInfo>()> job) {
  REWIND_ASSERT(!job_running_);
  job_running_ = true;
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
  return format_stop_reply(stop, style);
}

}  // namespace rwd::gdbstub
