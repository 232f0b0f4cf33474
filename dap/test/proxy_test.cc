// The Proxy against a fake lldb-dap: exact messages in, exact messages out.
#define BOOST_TEST_MODULE dap
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <vector>

#include "dap/Proxy.h"

using namespace rwd::dap;

namespace {

struct FakeHost : Proxy::Host {
  std::vector<json> client, server;
  std::vector<std::string> started;
  bool start_fails = false;
  void send_client(const json& m) override { client.push_back(m); }
  void send_server(const json& m) override { server.push_back(m); }
  rwd::Result<void> start_server(const std::string& path) override {
    if (start_fails) return rwd::Error{"no"};
    started.push_back(path);
    return rwd::ok_result();
  }
  json take_client() {
    BOOST_REQUIRE(!client.empty());
    json m = client.front();
    client.erase(client.begin());
    return m;
  }
  json take_server() {
    BOOST_REQUIRE(!server.empty());
    json m = server.front();
    server.erase(server.begin());
    return m;
  }
};

json request(int64_t seq, const std::string& command, json args = json::object()) {
  return {{"seq", seq}, {"type", "request"}, {"command", command}, {"arguments", args}};
}
json response_to(const json& req, json body = json::object(), bool ok = true) {
  return {{"seq", 900},
          {"type", "response"},
          {"request_seq", req["seq"]},
          {"command", req["command"]},
          {"success", ok},
          {"body", body}};
}
json event(const std::string& name, json body) {
  return {{"seq", 901}, {"type", "event"}, {"event", name}, {"body", body}};
}

struct Session {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rewind-dap-unit-" + std::to_string(::getpid()));
  Config config;
  FakeHost host;
  std::unique_ptr<Proxy> proxy;

  Session() {
    std::filesystem::create_directories(dir / "trace");
    std::filesystem::copy_file("/bin/true", dir / "lldb-dap",
                               std::filesystem::copy_options::overwrite_existing);
    std::FILE* f = std::fopen((dir / "plugin.so").c_str(), "w");
    std::fclose(f);
    config.lldb_dap_env = (dir / "lldb-dap").string();
    config.plugin_env = (dir / "plugin.so").string();
    proxy = std::make_unique<Proxy>(config, host);
  }
  ~Session() { std::filesystem::remove_all(dir); }

  // initialize + launch with the trace, answered; leaves both queues empty.
  void launch() {
    proxy->from_client(request(1, "initialize"));
    proxy->from_server(response_to(host.take_server(), {{"supportsStepInTargetsRequest", true}}));
    json init = host.take_client();
    BOOST_TEST(init["body"]["supportsStepBack"] == true);
    BOOST_TEST(init["body"]["supportsStepInTargetsRequest"] == true);
    BOOST_TEST(init["request_seq"] == 1);
    proxy->from_client(request(2, "launch", {{"trace", (dir / "trace").string()}}));
    json attach = host.take_server();
    BOOST_TEST(attach["command"] == "attach");
    BOOST_TEST(attach["arguments"]["commandEscapePrefix"] == "`");
    proxy->from_server(response_to(attach));
    json launched = host.take_client();
    BOOST_TEST(launched["command"] == "launch");
    BOOST_TEST(launched["request_seq"] == 2);
    BOOST_TEST(launched["success"] == true);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(renumbers_both_ways) {
  Session s;
  s.launch();
  s.proxy->from_client(request(7, "threads"));
  json threads = s.host.take_server();
  BOOST_TEST(threads["seq"] == 3);  // initialize 1, attach 2
  s.proxy->from_client(request(8, "cancel", {{"requestId", 7}}));
  BOOST_TEST(s.host.take_server()["arguments"]["requestId"] == 3);
  s.proxy->from_server(response_to(threads));
  json r = s.host.take_client();
  BOOST_TEST(r["request_seq"] == 7);
  BOOST_TEST(r["seq"] == 3);  // the client's third message from us
  // A reverse request from lldb-dap and its answer.
  s.proxy->from_server({{"seq", 50}, {"type", "request"}, {"command", "runInTerminal"}});
  json rit = s.host.take_client();
  s.proxy->from_client({{"seq", 9},
                        {"type", "response"},
                        {"request_seq", rit["seq"]},
                        {"command", "runInTerminal"},
                        {"success", true}});
  BOOST_TEST(s.host.take_server()["request_seq"] == 50);
}

BOOST_AUTO_TEST_CASE(step_back_reports_one_stop) {
  Session s;
  s.launch();
  s.proxy->from_client(request(10, "stepBack", {{"threadId", 41}}));
  json ok = s.host.take_client();
  BOOST_TEST(ok["request_seq"] == 10);
  BOOST_TEST(ok["success"] == true);
  json eval = s.host.take_server();
  BOOST_TEST(eval["arguments"]["expression"] == "`rewind reverse-next -t 41");
  BOOST_TEST(eval["arguments"]["context"] == "repl");
  json list = s.host.take_server();
  BOOST_TEST(list["arguments"]["expression"] == "`thread list");
  s.proxy->from_server(response_to(eval, {{"result", ""}}));
  BOOST_TEST(s.host.client.empty());
  s.proxy->from_server(
      response_to(list, {{"result", "* thread #1: tid = 41, stop reason = trace"}}));
  json stopped = s.host.take_client();
  BOOST_TEST(stopped["event"] == "stopped");
  BOOST_TEST(stopped["body"] ==
             json({{"reason", "step"}, {"threadId", 41}, {"allThreadsStopped", true}}));
  BOOST_TEST(s.host.client.empty());
  // Late echoes of that stop are dropped until the client resumes.
  s.proxy->from_server(event("continued", {{"threadId", 41}}));
  s.proxy->from_server(event("stopped", {{"reason", "step"}, {"threadId", 41}}));
  BOOST_TEST(s.host.client.empty());
  s.proxy->from_client(request(11, "continue", {{"threadId", 41}}));
  s.proxy->from_server(event("stopped", {{"reason", "breakpoint"}, {"threadId", 41}}));
  BOOST_TEST(s.host.take_client()["event"] == "stopped");
}

BOOST_AUTO_TEST_CASE(lldb_dap_stop_is_used_once_and_failure_shown) {
  Session s;
  s.launch();
  s.proxy->from_client(request(10, "reverseContinue", {{"threadId", 41}}));
  s.host.take_client();
  json eval = s.host.take_server(), list = s.host.take_server();
  s.proxy->from_server(
      event("stopped", {{"reason", "breakpoint"}, {"threadId", 41}, {"hitBreakpointIds", {1}}}));
  s.proxy->from_server(
      response_to(eval, {{"error", {{"format", "at the start of the recording"}}}}, false));
  json out = s.host.take_client();
  BOOST_TEST(out["event"] == "output");
  BOOST_TEST(out["body"]["category"] == "stderr");
  BOOST_TEST(out["body"]["output"] == "at the start of the recording\n");
  s.proxy->from_server(response_to(list, {{"result", ""}}));
  json stopped = s.host.take_client();
  BOOST_TEST(stopped["body"]["hitBreakpointIds"] == json({1}));
  BOOST_TEST(stopped["body"]["allThreadsStopped"] == true);
  BOOST_TEST(s.host.client.empty());
}

BOOST_AUTO_TEST_CASE(reverse_continue_reason_from_thread_list) {
  Session s;
  s.launch();
  s.proxy->from_client(request(10, "reverseContinue", {{"threadId", 41}}));
  s.host.take_client();
  json eval = s.host.take_server(), list = s.host.take_server();
  BOOST_TEST(eval["arguments"]["expression"] == "`rewind reverse-continue");
  s.proxy->from_server(response_to(eval, {{"result", ""}}));
  s.proxy->from_server(response_to(
      list, {{"result",
              "* thread #2: tid = 43, 0x1 d`tick(i=1) at d.c:9, stop reason = breakpoint 3.1\n"}}));
  json stopped = s.host.take_client();
  BOOST_TEST(stopped["body"]["reason"] == "breakpoint");
  BOOST_TEST(stopped["body"]["threadId"] == 43);
  BOOST_TEST(stopped["body"]["hitBreakpointIds"] == json({3}));
}

BOOST_AUTO_TEST_CASE(plain_sessions_and_errors) {
  Session s;
  s.proxy->from_client(request(1, "initialize"));
  s.proxy->from_server(response_to(s.host.take_server()));
  s.host.take_client();
  // Not a trace: passed through untouched, step-back taken back.
  json launch = request(2, "launch", {{"program", "/bin/ls"}});
  s.proxy->from_client(launch);
  json fwd = s.host.take_server();
  BOOST_TEST(fwd["arguments"] == launch["arguments"]);
  BOOST_TEST(fwd["command"] == "launch");
  s.proxy->from_server(response_to(fwd));
  s.host.take_client();
  BOOST_TEST(s.host.take_client()["event"] == "capabilities");
  s.proxy->from_client(request(3, "stepBack", {{"threadId", 1}}));
  BOOST_TEST(s.host.take_client()["event"] == "output");
  BOOST_TEST(s.host.take_client()["success"] == false);
  BOOST_TEST(s.host.server.empty());
}

BOOST_AUTO_TEST_CASE(missing_trace_and_missing_lldb_dap) {
  Session s;
  s.proxy->from_client(request(1, "initialize"));
  s.proxy->from_server(response_to(s.host.take_server()));
  s.host.take_client();
  s.proxy->from_client(request(2, "launch", {{"trace", "/no/such/trace"}}));
  BOOST_TEST(s.host.take_client()["body"]["category"] == "stderr");
  json r = s.host.take_client();
  BOOST_TEST(r["success"] == false);
  BOOST_TEST(r["command"] == "launch");
  BOOST_TEST(s.host.server.empty());

  Session t;
  t.config.lldb_dap_env = "/no/such/lldb-dap";
  t.proxy->from_client(request(1, "initialize"));
  BOOST_TEST(t.host.take_client()["body"]["output"].get<std::string>().find("REWIND_LLDB_DAP") !=
             std::string::npos);
  BOOST_TEST(t.host.take_client()["success"] == false);
  t.proxy->from_client(request(2, "disconnect"));
  BOOST_TEST(t.host.take_client()["success"] == true);
  BOOST_TEST(t.proxy->done());
}

BOOST_AUTO_TEST_CASE(disconnect_terminates_the_replay) {
  Session s;
  s.launch();
  s.proxy->from_client(request(3, "disconnect"));
  json d = s.host.take_server();
  BOOST_TEST(d["arguments"]["terminateDebuggee"] == true);
  s.proxy->from_server(response_to(d));
  BOOST_TEST(s.host.take_client()["command"] == "disconnect");
  BOOST_TEST(s.proxy->done());
}

BOOST_AUTO_TEST_CASE(moving_repl_command_is_reported) {
  Session s;
  s.launch();
  s.proxy->from_server(event("stopped", {{"reason", "breakpoint"}, {"threadId", 41}}));
  s.host.take_client();
  s.proxy->from_client(
      request(10, "evaluate", {{"expression", "`rewind reverse-step"}, {"context", "repl"}}));
  json eval = s.host.take_server(), list = s.host.take_server();
  BOOST_TEST(eval["arguments"]["expression"] == "`rewind reverse-step");
  BOOST_TEST(list["arguments"]["expression"] == "`thread list");
  s.proxy->from_server(response_to(eval, {{"result", "moved"}}));
  BOOST_TEST(s.host.take_client()["request_seq"] == 10);
  s.proxy->from_server(
      response_to(list, {{"result", "* thread #1: tid = 41, stop reason = trace"}}));
  json stopped = s.host.take_client();
  BOOST_TEST(stopped["body"]["reason"] == "step");
  BOOST_TEST(stopped["body"]["threadId"] == 41);
  BOOST_TEST(s.host.client.empty());
  // Not a move: passed through, nothing added.
  s.proxy->from_client(
      request(11, "evaluate", {{"expression", "`rewind when"}, {"context", "repl"}}));
  s.host.take_server();
  BOOST_TEST(s.host.server.empty());
}

BOOST_AUTO_TEST_CASE(lldb_dap_path_replaces_the_first_lldb_dap) {
  Session s;
  s.proxy->from_client(request(1, "initialize", {{"adapterID", "x"}}));
  s.proxy->from_server(response_to(s.host.take_server()));
  s.host.take_client();
  s.proxy->from_client(
      request(2, "launch", {{"trace", (s.dir / "trace").string()}, {"lldbDapPath", "/bin/true"}}));
  BOOST_TEST(s.host.started.size() == 2u);
  BOOST_TEST(s.host.started.back() == "/bin/true");
  json init = s.host.take_server();
  BOOST_TEST(init["command"] == "initialize");
  BOOST_TEST(init["arguments"] == json({{"adapterID", "x"}}));
  json attach = s.host.take_server();
  BOOST_TEST(attach["command"] == "attach");
  BOOST_TEST(!attach["arguments"].contains("lldbDapPath"));
  s.proxy->from_server(response_to(init));
  BOOST_TEST(s.host.client.empty());  // the replayed initialize's answer stays here
  s.proxy->from_server(response_to(attach));
  BOOST_TEST(s.host.take_client()["command"] == "launch");
}
