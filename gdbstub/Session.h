// One client's conversation with the replay: packets in, replies out, the
// target driven through target::Target only. A Session does no I/O of its
// own; a SessionHost carries its bytes, so tests drive it with exact bytes
// and no socket (as LLDB's GDBRemoteCommunicationServerTest does).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/Target.h"
#include "core/base/Error.h"
#include "gdbstub/PacketFraming.h"
#include "gdbstub/PacketParser.h"

namespace rwd::gdbstub {

// What a Session needs from the connection it runs on.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Sends framed bytes to the client.
  virtual void send(std::string_view bytes) = 0;
  // Runs `job` (a Target::resume or restart: they block until the next
  // stop) in a way that lets client bytes keep arriving, so that a Ctrl-C
  // can reach interrupt_job(). When the job returns, the host hands its
  // result to Session::on_job_done, on the thread that calls on_bytes.
  virtual void start_job(std::function<Result<target::StopInfo>()> job) = 0;
  // The client sent 0x03 while a job runs: call Target::interrupt() if the
  // job is still inside the target (interrupt() is only safe then).
  virtual void interrupt_job() = 0;
};

// A handler's answer to its packet.
struct Reply {
  std::string body;
  // Nothing to send now: the handler started a job, whose stop reply is
  // sent when it ends (packets arriving meanwhile wait), or the packet has
  // no reply at all (k).
  bool none = false;
  static Reply nothing() { return Reply{{}, true}; }
};

class Session {
 public:
  Session(target::Target& target, SessionHost& host);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void on_bytes(std::string_view bytes);
  void on_job_done(Result<target::StopInfo> stop);
  // The client detached or killed the process: close the connection.
  bool finished() const { return finished_; }
  bool job_running() const { return job_running_; }

  using Handler = Result<Reply> (Session::*)(std::string_view args);

 private:
  // How a packet's arguments follow its name.
  enum class Args {
    Immediate,  // right after the name: "m1000,4", "qRegisterInfo1a"
    Delimited,  // after one of ":;," which is dropped, or none: "qXfer:...", "vCont;c"
  };
  struct PacketHandler {
    std::string_view name;
    Args args;
    Handler handler;
  };
  // The dispatch table (Session.cc).
  static std::span<const PacketHandler> packet_handlers();

  // --- plumbing (Session.cc)
  void handle_event(ClientEvent event);
  void dispatch(std::string_view packet);
  void send_packet(std::string_view body);
  // A failed packet (or job): logs why on stderr, once, and replies with
  // the error in the richest form the client reads (error_reply). `packet`
  // names it in the log; `awaiting_stop` says the client waits for a stop
  // reply: gdb then gets console output before the error, LLDB a stop.
  void send_error(std::string_view packet, const Error& error, bool awaiting_stop);
  std::string error_reply(const Error& error) const;
  // Sends console output (gdb's O packet) ahead of a reply.
  void send_console_output(std::string_view text);
  // `name`: the packet that started it, for the log if it fails.
  void start_job(std::string_view name, std::function<Result<target::StopInfo>()> job);
  std::string stop_reply(const target::StopInfo& stop);

  // --- threads (SessionExecution.cc)
  Result<target::ThreadId> resolve_thread(const ThreadSelector& sel);
  Result<target::ThreadId> general_thread() { return resolve_thread(general_thread_); }
  Result<target::ThreadId> continue_thread() { return resolve_thread(continue_thread_); }
  bool tdesc_has_avx();

  // --- handlers, named after their packets
  // Connection and capabilities (SessionQueries.cc)
  Result<Reply> handle_qSupported(std::string_view args);
  Result<Reply> handle_QStartNoAckMode(std::string_view args);
  Result<Reply> handle_QEnableErrorStrings(std::string_view args);
  Result<Reply> handle_QListThreadsInStopReply(std::string_view args);
  Result<Reply> handle_extended_mode(std::string_view args);  // "!"
  Result<Reply> handle_qAttached(std::string_view args);
  Result<Reply> handle_qOffsets(std::string_view args);
  Result<Reply> handle_qSymbol(std::string_view args);
  Result<Reply> handle_qHostInfo(std::string_view args);
  Result<Reply> handle_qProcessInfo(std::string_view args);
  Result<Reply> handle_qGDBServerVersion(std::string_view args);
  Result<Reply> handle_qRegisterInfo(std::string_view args);
  Result<Reply> handle_qC(std::string_view args);
  Result<Reply> handle_qfThreadInfo(std::string_view args);
  Result<Reply> handle_qsThreadInfo(std::string_view args);
  Result<Reply> handle_qThreadExtraInfo(std::string_view args);
  Result<Reply> handle_qXfer_features_read(std::string_view args);
  Result<Reply> handle_qXfer_auxv_read(std::string_view args);
  Result<Reply> handle_qXfer_exec_file_read(std::string_view args);
  Result<Reply> handle_qXfer_threads_read(std::string_view args);
  // State (SessionState.cc)
  Result<Reply> handle_g(std::string_view args);
  Result<Reply> handle_G(std::string_view args);
  Result<Reply> handle_p(std::string_view args);
  Result<Reply> handle_P(std::string_view args);
  Result<Reply> handle_m(std::string_view args);
  Result<Reply> handle_M(std::string_view args);
  Result<Reply> handle_x(std::string_view args);
  Result<Reply> handle_X(std::string_view args);
  Result<Reply> handle_Z(std::string_view args);
  Result<Reply> handle_z(std::string_view args);
  // Execution and threads (SessionExecution.cc)
  Result<Reply> handle_question_mark(std::string_view args);  // "?"
  Result<Reply> handle_H(std::string_view args);
  Result<Reply> handle_T(std::string_view args);
  Result<Reply> handle_vCont_query(std::string_view args);  // "vCont?"
  Result<Reply> handle_vCont(std::string_view args);
  Result<Reply> handle_c(std::string_view args);
  Result<Reply> handle_C(std::string_view args);
  Result<Reply> handle_s(std::string_view args);
  Result<Reply> handle_S(std::string_view args);
  Result<Reply> handle_bc(std::string_view args);
  Result<Reply> handle_bs(std::string_view args);
  Result<Reply> handle_vRun(std::string_view args);
  Result<Reply> handle_vKill(std::string_view args);
  Result<Reply> handle_D(std::string_view args);
  Result<Reply> handle_k(std::string_view args);
  // Files of the recording (SessionFiles.cc)
  Result<Reply> handle_vFile_setfs(std::string_view args);
  Result<Reply> handle_vFile_open(std::string_view args);
  Result<Reply> handle_vFile_pread(std::string_view args);
  Result<Reply> handle_vFile_close(std::string_view args);
  Result<Reply> handle_vFile_fstat(std::string_view args);
  // Monitor commands (SessionMonitor.cc)
  Result<Reply> handle_qRcmd(std::string_view args);
  // rewind's moves, armed for the next bc (SessionRewind.cc)
  Result<Reply> handle_QRewindLineStep(std::string_view args);
  Result<Reply> handle_QRewindSeek(std::string_view args);
  Result<Reply> handle_QRewindStepi(std::string_view args);
  Result<Reply> handle_QRewindContinue(std::string_view args);
  Result<Reply> handle_qRewindFiles(std::string_view args);
  Result<Reply> handle_QRewindRestart(std::string_view args);

  Result<Reply> resume(std::string_view packet, target::ResumeRequest::Action action,
                       target::Direction direction, std::optional<target::ThreadId> thread);
  Result<Reply> breakpoint(std::string_view args, bool insert);
  Result<Reply> xfer_reply(std::string_view object, uint64_t offset, uint64_t length);
  std::string run_monitor_command(std::string_view command);

  target::Target& target_;
  SessionHost& host_;
  PacketDecoder decoder_;

  bool ack_mode_ = true;
  bool extended_mode_ = false;
  bool finished_ = false;
  bool job_running_ = false;
  // The packet whose job runs ("vCont", "bc", "vRun"), for its error.
  std::string job_packet_;
  // Events that arrived while a job ran; handled once it returns. gdb and
  // LLDB wait for the stop reply in all-stop mode, so only a broken client
  // sends more than a few: past kMaxQueuedEvents its packets are only
  // counted, and each gets an error reply in its turn.
  static constexpr size_t kMaxQueuedEvents = 16;
  std::deque<ClientEvent> queued_;
  size_t overflowed_ = 0;
  // The last packet sent, for a '-' from the client.
  std::string last_sent_;

  // What the client said it understands (qSupported and LLDB's Q packets).
  struct ClientFeatures {
    bool multiprocess = false;
    bool swbreak = false;
    bool hwbreak = false;
    bool exec_events = false;    // gdb's "exec:" stop reason
    bool binary_upload = false;  // gdb 16's 'x' reply, prefixed with 'b'
    bool error_strings = false;  // LLDB's QEnableErrorStrings: "E01;<hex text>"
    bool error_message = false;  // gdb 15's error-message+: "E.<text>"
    bool threads_in_stop_reply = false;
  } client_;

  ThreadSelector general_thread_;   // Hg: registers and memory
  ThreadSelector continue_thread_;  // Hc: what c and s resume
  std::optional<target::StopInfo> last_stop_;
  std::optional<bool> tdesc_has_avx_;  // fixed once target.xml was described

  // A move a QRewind packet armed: the next resume packet runs it.
  struct Armed {
    std::string packet;
    std::function<Result<target::StopInfo>()> job;
    std::string description;  // the stop's, in LLDB: "reverse-next", ...
  };
  std::optional<Armed> armed_;
  std::string move_description_;  // of the armed move that runs

  // Files the client opened with vFile:open: fd -> recorded path.
  std::map<int, std::string> open_files_;
};

}  // namespace rwd::gdbstub
