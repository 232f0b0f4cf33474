// The adapter's state machine: every message between the DAP client and
// lldb-dap passes through here. It forwards, renumbers, and takes over the
// few requests lldb-dap does not know (docs/dap.md has the whole picture):
//
//  - seq numbers: each side numbers the messages it sends. rewind-dap is a
//    peer to both, so it gives every message it sends its own seq (one counter
//    towards the client, one towards lldb-dap) and maps request_seq back.
//    Requests it makes up itself therefore cannot collide with the client's,
//    and their responses are recognised and kept.
//  - a `launch` with "trace" becomes lldb-dap's `attach` with the rewind
//    plugin's commands; the client still sees a `launch` response.
//  - `stepBack` and `reverseContinue` become repl `evaluate`s of the
//    plugin's `rewind reverse-*` commands, followed by `thread list` to learn
//    where the process stopped; rewind-dap sends the `stopped` event itself.
//
// No I/O here: the Host does it, so the tests in dap/test/ drive a Proxy with
// exact messages.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/base/Error.h"
#include "dap/Locate.h"
#include "dap/Rewrite.h"

namespace rwd::dap {

class Proxy {
 public:
  class Host {
   public:
    virtual ~Host() = default;
    virtual void send_client(const json& message) = 0;
    virtual void send_server(const json& message) = 0;
    // Starts lldb-dap at `path`, stopping the one running before, if any.
    virtual Result<void> start_server(const std::string& path) = 0;
  };

  Proxy(const Config& config, Host& host) : config_(config), host_(host) {}

  void from_client(json message);
  void from_server(json message);
  // lldb-dap is gone (its output closed): fails what it still owed.
  void server_gone(const std::string& why);

  // The client has its `disconnect` response (or asked to disconnect from an
  // adapter that never had an lldb-dap): nothing more will come.
  bool done() const { return done_; }

 private:
  // A client request passed to lldb-dap, answered under the client's seq and
  // the command name the client used (`launch` for our `attach`).
  struct Forwarded {
    int64_t client_seq;
    std::string command;
  };
  // Requests rewind-dap makes itself; their responses stay here.
  enum class Injected { Initialize, ReverseCommand, ThreadList };
  using Pending = std::variant<Forwarded, Injected>;

  // A stepBack, a reverseContinue, or a moving plugin command typed in the
  // repl, from its evaluate to its stopped event.
  enum class Move { StepBack, ReverseContinue, ReplCommand };
  struct ReverseOp {
    Move move;
    int64_t thread_id;  // the client's, or the last stopped thread for a repl command
    bool failed = false;
    std::optional<json> server_stop;  // lldb-dap's own stopped event, if it saw the stop
  };

  bool ensure_server(const json& request);
  void handle_request(json request);
  void handle_trace_launch(json request);
  void handle_reverse(const json& request, ReverseKind kind);
  void handle_injected(Injected kind, const json& response);
  void finish_reverse(const json& thread_list_response);
  Result<void> switch_server(const std::string& path);

  void forward_request(json request, std::string command_for_client);
  void inject(std::string command, json arguments, Injected kind);
  void send_client(json message);
  void fail(const json& request, const std::string& why);

  const Config& config_;
  Host& host_;

  int64_t next_server_seq_ = 1;
  int64_t next_client_seq_ = 1;
  std::map<int64_t, Pending> pending_;           // by the seq lldb-dap saw
  std::map<int64_t, int64_t> server_seq_of_;     // client seq -> lldb-dap seq, for `cancel`
  std::map<int64_t, int64_t> reverse_requests_;  // seq the client saw -> lldb-dap's seq

  std::optional<std::string> server_path_;   // the lldb-dap running
  std::optional<std::string> server_error_;  // why none runs
  json initialize_request_;                  // replayed to a replacement lldb-dap

  bool trace_session_ = false;
  std::string escape_prefix_{kDefaultEscapePrefix};
  std::optional<ReverseOp> reverse_;
  // From a reverse operation until the client resumes: lldb-dap's own stopped
  // and continued events are about the stop already reported (or stale), so
  // they are dropped rather than sent twice or out of order.
  bool hold_stops_ = false;
  int64_t last_stopped_thread_ = 0;
  bool disconnecting_ = false;
  bool done_ = false;
};

}  // namespace rwd::dap
