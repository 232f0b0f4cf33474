// DAP framing and the pure rewrites (dap/Framing.h, dap/Rewrite.h) on exact
// bytes and messages.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "dap/Framing.h"
#include "dap/Rewrite.h"

using namespace rwd::dap;

BOOST_AUTO_TEST_SUITE(framing)

BOOST_AUTO_TEST_CASE(splits_messages_across_reads) {
  FrameDecoder d;
  std::string two = encode_frame("{\"a\":1}") + encode_frame("{}");
  BOOST_TEST(two == "Content-Length: 7\r\n\r\n{\"a\":1}Content-Length: 2\r\n\r\n{}");
  d.append(two.substr(0, 10));
  BOOST_TEST(!*d.next());
  d.append(two.substr(10, 20));
  auto first = d.next();
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(**first == "{\"a\":1}");
  BOOST_TEST(!*d.next());
  d.append(two.substr(30));
  BOOST_TEST(**d.next() == "{}");
  BOOST_TEST(d.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(header_case_and_other_fields) {
  FrameDecoder d;
  d.append("content-length:  2 \r\nContent-Type: x\r\n\r\n[]");
  BOOST_TEST(**d.next() == "[]");
}

BOOST_AUTO_TEST_CASE(bad_headers_are_errors) {
  for (const char* bad :
       {"Content-Length: x\r\n\r\n", "Foo: 1\r\n\r\n", "Content-Length: \r\n\r\n"}) {
    FrameDecoder d;
    d.append(bad);
    BOOST_TEST(!d.next().ok(), bad);
  }
  FrameDecoder endless;
  endless.append(std::string(9000, 'x'));
  BOOST_TEST(!endless.next().ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rewrite)

BOOST_AUTO_TEST_CASE(trace_launch_becomes_attach) {
  auto dir = std::filesystem::temp_directory_path() / "rewind dap test trace";
  std::filesystem::create_directories(dir);
  json launch = {{"trace", dir.string()},
                 {"goto", 30},
                 {"rewindPlugin", "/p.so"},
                 {"lldbDapPath", "/x"},
                 {"initCommands", {"settings set a b"}},
                 {"sourceMap", {{"/a", "/b"}}}};
  auto plan = plan_trace_attach(launch, "/lib/librewind-lldb.so");
  BOOST_REQUIRE(plan.ok());
  json expect = {{"initCommands", {"plugin load \"/lib/librewind-lldb.so\"", "settings set a b"}},
                 {"attachCommands", {"rewind replay -g 30 \"" + dir.string() + "\""}},
                 {"sourceMap", {{"/a", "/b"}}},
                 {"commandEscapePrefix", "`"}};
  BOOST_TEST(plan->arguments == expect, plan->arguments.dump());
  BOOST_TEST(plan->escape_prefix == "`");

  launch["commandEscapePrefix"] = "!";
  launch.erase("goto");
  plan = plan_trace_attach(launch, "/p.so");
  BOOST_REQUIRE(plan.ok());
  BOOST_TEST(plan->escape_prefix == "!");
  BOOST_TEST(plan->arguments["attachCommands"][0] == "rewind replay \"" + dir.string() + "\"");
  std::filesystem::remove(dir);
}

BOOST_AUTO_TEST_CASE(bad_launches) {
  BOOST_TEST(!plan_trace_attach({{"trace", "/no/such/trace"}}, "/p.so").ok());
  BOOST_TEST(!plan_trace_attach({{"trace", 3}}, "/p.so").ok());
  BOOST_TEST(!plan_trace_attach({{"trace", "/"}, {"goto", "x"}}, "/p.so").ok());
  BOOST_TEST(!plan_trace_attach({{"trace", "/"}, {"goto", -1}}, "/p.so").ok());
  BOOST_TEST(!plan_trace_attach({{"trace", "/"}, {"initCommands", "x"}}, "/p.so").ok());
  BOOST_TEST(plan_trace_attach({{"trace", "/"}, {"goto", "12"}}, "/p.so").ok());
}

BOOST_AUTO_TEST_CASE(quoting) {
  BOOST_TEST(*lldb_quote("a b\"c\\d") == "\"a b\\\"c\\\\d\"");
  BOOST_TEST(!lldb_quote("a`b").ok());
  BOOST_TEST(!lldb_quote("a\nb").ok());
}

BOOST_AUTO_TEST_CASE(thread_list) {
  auto t = parse_selected_thread(
      "Process 7 stopped\n"
      "  thread #2: tid = 8, 0x1 a.out`f, stop reason = trace\n"
      "* thread #1: tid = 7, 0x2 a.out`square(x=1) at d.c:14:47, name = 'd', stop reason = "
      "breakpoint 2.1\n");
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(t->tid == 7);
  BOOST_TEST(t->stop_reason == "breakpoint 2.1");
  BOOST_TEST(!parse_selected_thread("error: no process\n").has_value());
  BOOST_TEST(dap_stop_reason("breakpoint 2.1", "step") == "breakpoint");
  BOOST_TEST(dap_stop_reason("watchpoint 1", "step") == "data breakpoint");
  BOOST_TEST(dap_stop_reason("history boundary", "step") == "entry");
  BOOST_TEST(dap_stop_reason("step over", "step") == "step");
}

BOOST_AUTO_TEST_CASE(moving_commands) {
  BOOST_TEST(is_moving_command("`rewind reverse-step", "`"));
  BOOST_TEST(is_moving_command("`rewind  rn -t 4", "`"));
  BOOST_TEST(is_moving_command("rc", "`"));
  BOOST_TEST(is_moving_command("`rewind seek 40", "`"));
  BOOST_TEST(!is_moving_command("`rewind when", "`"));
  BOOST_TEST(!is_moving_command("`rewind replay /t", "`"));
  BOOST_TEST(!is_moving_command("rcx", "`"));
  BOOST_TEST(!is_moving_command("i + 1", "`"));
}

BOOST_AUTO_TEST_CASE(commands) {
  BOOST_TEST(reverse_command(ReverseKind::StepBack, Granularity::Line, 41) ==
             "rewind reverse-next -t 41");
  BOOST_TEST(reverse_command(ReverseKind::StepBack,
                             granularity_of({{"granularity", "instruction"}}),
                             41) == "rewind reverse-stepi -t 41");
  BOOST_TEST(reverse_command(ReverseKind::ReverseContinue, Granularity::Line, 41) ==
             "rewind reverse-continue");
}

BOOST_AUTO_TEST_SUITE_END()
