// Packet-level tests of the Session against a FakeTarget, with exact bytes.
#define BOOST_TEST_MODULE gdbstub
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include "core/base/Log.h"
#include "gdbstub/test/SessionHarness.h"

using namespace rwd;
using namespace rwd::gdbstub;
using namespace rwd::gdbstub::test;
using target::BreakpointType;
using target::StopKind;

namespace {

// REWIND_LOG=packets shows every packet of a failing test.
struct LogFromEnvironment {
  LogFromEnvironment() { parse_log_env(); }
};
BOOST_TEST_GLOBAL_FIXTURE(LogFromEnvironment);

target::StopInfo stop(StopKind kind, pid_t tid, int signo = 0) {
  target::StopInfo s;
  s.kind = kind;
  s.thread = {FakeTarget::kPid, tid};
  s.signo = signo;
  return s;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(session, SessionFixture)

BOOST_AUTO_TEST_CASE(qsupported_exact_bytes) {
  BOOST_TEST(exchange("$qSupported:multiprocess+;swbreak+#1b") ==
             "+$PacketSize=10000;QStartNoAckMode+;multiprocess+;swbreak+;hwbreak+;"
             "ReverseContinue+;ReverseStep+;qXfer:features:read+;qXfer:auxv:read+;"
             "qXfer:exec-file:read+;qXfer:threads:read+;vContSupported+#71");
}

BOOST_AUTO_TEST_CASE(no_ack_mode_switch) {
  // The OK itself is still preceded by our ack; later packets are not.
  BOOST_TEST(exchange("$QStartNoAckMode#b0") == "+$OK#9a");
  BOOST_TEST(exchange("+") == "");  // gdb acks our OK
  BOOST_TEST(exchange("$m401000,4#f2") == "$554889e5#e1");
  // No-ack mode does not check checksums: nothing would resend.
  BOOST_TEST(exchange("$m401000,4#00") == "$554889e5#e1");
}

BOOST_AUTO_TEST_CASE(bad_checksum_is_nacked_and_nack_resends) {
  BOOST_TEST(exchange("$m401000,4#f3") == "-");
  BOOST_TEST(exchange("$m401000,4#zz") == "-");
  BOOST_TEST(exchange("$m401000,4#f2") == "+$554889e5#e1");
  BOOST_TEST(exchange("-") == "$554889e5#e1");
}

BOOST_AUTO_TEST_CASE(bytes_split_anywhere) {
  std::string out;
  for (char c : std::string("junk$m401000,4#f2")) out += exchange(std::string(1, c));
  BOOST_TEST(out == "+$554889e5#e1");
  // Two packets in one read.
  BOOST_TEST(exchange("$m401000,4#f2$m401000,4#f2") == "+$554889e5#e1+$554889e5#e1");
}

BOOST_AUTO_TEST_CASE(run_length_encoded_request) {
  // "1*\"" is '1' and five more ('"' is 34, 34 - 29 = 5): m1111110,1.
  target.map(0x1111110, {0xaa});
  BOOST_TEST(reply_to("m1*\"0,1") == "aa");  // '"' = 34: five more '1's
}

BOOST_AUTO_TEST_CASE(unknown_packets_get_empty_reply) {
  BOOST_TEST(exchange("$qFooBar#xx") == "-");  // a bad checksum still nacks
  BOOST_TEST(request("qFooBar") == "+$#00");
  BOOST_TEST(request("vMustReplyEmpty") == "+$#00");
  BOOST_TEST(request("qCRC:0,4") == "+$#00");  // not claimed by "qC"
  BOOST_TEST(request("Z9,1000,1") == "+$#00");
}

BOOST_AUTO_TEST_CASE(malformed_packets_get_errors) {
  for (const char* p : {"mzz,4",
                        "m401000",
                        "m,",
                        "m401000,",
                        "m401000,4zz",
                        "M401000,2:zz",
                        "M401000,2:abcd12",
                        "X401000,4:ab",
                        "Z0,401000",
                        "Z0,zz,1",
                        "z",
                        "Hx1",
                        "Hgzz",
                        "Hgp1.",
                        "Tp100.999",
                        "p999",
                        "pzz",
                        "P10=12",
                        "P10",
                        "G00",
                        "vCont;q",
                        "vCont;",
                        "vCont;C",
                        "vCont;s:zz",
                        "qXfer:features:read:target.xml:zz",
                        "qXfer:features:read:nope.xml:0,10",
                        "qXfer:features:read:target.xml",
                        "qThreadExtraInfo,zz",
                        "qRcmd,7",
                        "c1234",
                        "m11111111111111111111,1",
                        "p10000000000000000000"}) {
    BOOST_TEST_CONTEXT(p) {
      // Resume packets may get the reason as console output first.
      BOOST_TEST(stop_reply_to(p) == "E01");
    }
  }
  // The empty packet and a lone "$#00" do not crash either.
  BOOST_TEST(request("") == "+$#00");
}

BOOST_AUTO_TEST_CASE(oversize_packet_is_rejected_not_buffered) {
  std::string body = "X401000,1:" + std::string(kMaxPacketSize + 100, 'a');
  BOOST_TEST(exchange(frame_packet(body)) == "+$E01#a6");
  BOOST_TEST(reply_to("m401000,4") == "554889e5");  // still in sync
}

BOOST_AUTO_TEST_CASE(error_strings_when_enabled) {
  BOOST_TEST(reply_to("QEnableErrorStrings") == "OK");
  std::string r = reply_to("m0,4");
  BOOST_TEST(r == "E01;" + hex("cannot read memory at 0x0"));
}

BOOST_AUTO_TEST_CASE(error_text_for_a_client_that_announced_error_message) {
  // gdb 15 and later send error-message+; then every error carries its text.
  request("qSupported:multiprocess+;swbreak+;error-message+");
  BOOST_TEST(reply_to("m0,4") == "E.cannot read memory at 0x0");
  BOOST_TEST(reply_to("Tp100.999") == "E.no thread 999");
  // A failed resume: the text replaces the stop reply, nothing else comes.
  BOOST_TEST(request("vCont;c") == "+" + frame_packet("E.no more scripted stops"));
}

BOOST_AUTO_TEST_CASE(plain_error_without_error_message) {
  // gdb 13 reads "E.text" after m as memory contents: it gets E01 only.
  negotiate();
  BOOST_TEST(reply_to("m0,4") == "E01");
  // While it waits for a stop reply it prints console output, so a failed
  // resume tells it why there.
  BOOST_TEST(request("vCont;c") == "+" +
                                       frame_packet("O" + hex("rewind: no more scripted stops\n")) +
                                       frame_packet("E01"));
  BOOST_TEST(request("bc") == "+" + frame_packet("O" + hex("rewind: no more scripted stops\n")) +
                                  frame_packet("E01"));
  // A resume refused before it starts is told the same way.
  BOOST_TEST(request("c1234") ==
             "+" +
                 frame_packet("O" + hex("rewind: resuming at another address is "
                                        "impossible in a replay\n")) +
                 frame_packet("E01"));
}

BOOST_AUTO_TEST_CASE(lldb_gets_a_stop_with_the_reason_for_a_failed_resume) {
  // LLDB would take an error reply to bc for a lost connection: it gets a
  // stop where the program stands, the reason as its description.
  BOOST_TEST(reply_to("QEnableErrorStrings") == "OK");
  BOOST_TEST(reply_to("bc") == "T05thread:100;reason:exception;description:" +
                                   hex("rewind: no more scripted stops") + ";");
  BOOST_TEST(reply_to("m0,4") == "E01;" + hex("cannot read memory at 0x0"));
}

BOOST_AUTO_TEST_CASE(registers_g_p_P_G) {
  negotiate();
  const std::string g = reply_to("g");
  // 60 registers without AVX... the fake has AVX: 76 registers.
  // 16*8 + 8 + 4*7 + 8*10 + 8*4 + 16*16 + 4 + 8*3 + 16*16 bytes.
  BOOST_TEST(g.size() ==
             2u * (16 * 8 + 8 + 7 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 3 * 8 + 16 * 16));
  BOOST_TEST(g.substr(0, 16) == "8877665544332211");        // rax
  BOOST_TEST(g.substr(16 * 16, 16) == "0011400000000000");  // rip of thread 0x100
  BOOST_TEST(g.substr(17 * 16, 8) == "46020000");           // eflags, 32 bits
  BOOST_TEST(reply_to("p10") == "0011400000000000");
  BOOST_TEST(reply_to("p20") == "7f030000");            // fctrl (32) = cwd 0x37f
  BOOST_TEST(reply_to("p22") == "ffff0000");            // ftag: all empty
  BOOST_TEST(reply_to("p38") == "801f0000");            // mxcsr (regnum 56)
  BOOST_TEST(reply_to("p39") == std::string(16, 'f'));  // orig_rax = -1 (regnum 57)
  BOOST_TEST(reply_to("p3a") == "00100000007f0000");    // fs_base
  BOOST_TEST(reply_to("p4b").size() == 32u);            // ymm15h
  BOOST_TEST(reply_to("p4c") == "E01");                 // past the last

  BOOST_TEST(reply_to("P10=efbeadde00000000") == "OK");
  BOOST_TEST(target.regs[0x100].gp.rip == 0xdeadbeefu);
  BOOST_TEST(reply_to("P12=33000000") == "OK");  // cs
  BOOST_TEST(target.regs[0x100].gp.cs == 0x33u);

  // Writing back what was read changes nothing but what we wrote with P.
  const std::string g2 = reply_to("g");
  target::RegisterFile before = target.regs[0x100];
  BOOST_TEST(reply_to("G" + g2) == "OK");
  BOOST_TEST(std::memcmp(&before.gp, &target.regs[0x100].gp, sizeof before.gp) == 0);
  BOOST_TEST(std::memcmp(&before.fp, &target.regs[0x100].fp, sizeof before.fp) == 0);
  BOOST_TEST(reply_to("G" + g2.substr(2)) == "E01");  // one byte short
}

BOOST_AUTO_TEST_CASE(thread_selection) {
  negotiate();
  BOOST_TEST(reply_to("qfThreadInfo") == "mp100.100,p100.101,p100.102");
  BOOST_TEST(reply_to("qsThreadInfo") == "l");
  BOOST_TEST(reply_to("qC") == "QCp100.100");
  BOOST_TEST(reply_to("Hgp100.101") == "OK");
  BOOST_TEST(reply_to("p10") == "0111400000000000");
  BOOST_TEST(reply_to("Hg0") == "OK");
  BOOST_TEST(reply_to("p10") == "0011400000000000");
  BOOST_TEST(reply_to("Hc-1") == "OK");
  BOOST_TEST(reply_to("Hgp100.-1") == "OK");
  BOOST_TEST(reply_to("Tp100.102") == "OK");
  BOOST_TEST(reply_to("Tp100.103") == "E01");
  BOOST_TEST(reply_to("Hgp200.100") == "E01");  // wrong process
  BOOST_TEST(reply_to("qThreadExtraInfo,p100.101") == hex("prog, replayed"));
  BOOST_TEST(reply_to("qXfer:threads:read::0,1000") ==
             "l<?xml version=\"1.0\"?>\n<threads>\n"
             "  <thread id=\"p100.100\" name=\"prog\"/>\n"
             "  <thread id=\"p100.101\" name=\"prog\"/>\n"
             "  <thread id=\"p100.102\" name=\"prog\"/>\n</threads>\n");
}

BOOST_AUTO_TEST_CASE(thread_ids_without_multiprocess) {
  BOOST_TEST(reply_to("qfThreadInfo") == "m100,101,102");
  BOOST_TEST(reply_to("Hg101") == "OK");
  BOOST_TEST(reply_to("p10") == "0111400000000000");
  target.stops.push_back(stop(StopKind::Breakpoint, 0x101));
  BOOST_TEST(reply_to("c") == "T05thread:101;");  // no swbreak: not negotiated
}

BOOST_AUTO_TEST_CASE(memory_m_M_x_X) {
  BOOST_TEST(reply_to("m401000,4") == "554889e5");
  BOOST_TEST(reply_to("m401008,10") == "cc24237d");  // short read: what is mapped
  BOOST_TEST(reply_to("m0,4") == "E01");
  BOOST_TEST(reply_to("m401000,0") == "");
  BOOST_TEST(reply_to("M500000,3:010203") == "OK");
  BOOST_TEST(reply_to("m500000,3") == "010203");

  // X: } # $ * arrive escaped as '}' and the byte xor 0x20.
  BOOST_TEST(reply_to("X600000,5:}]}\x03}\x04}\x0a\x07") == "OK");
  BOOST_TEST(reply_to("m600000,5") == "7d23242a07");
  BOOST_TEST(reply_to("X600000,0:") == "OK");  // gdb's probe
  BOOST_TEST(reply_to("X600000,1:}") == "E01");

  // x: the same escaping on the way out.
  BOOST_TEST(request("x401008,4") == "+" + frame_packet("\xcc}\x04}\x03}]"));
  BOOST_TEST(reply_to("x0,0") == "OK");  // LLDB's probe
  BOOST_TEST(reply_to("x0,4") == "E01");
}

BOOST_AUTO_TEST_CASE(breakpoints_map_to_target_types) {
  using Call = FakeTarget::BreakpointCall;
  BOOST_TEST(reply_to("Z0,401000,1") == "OK");
  BOOST_TEST(reply_to("z0,401000,1") == "OK");
  BOOST_TEST(reply_to("Z1,401004,1") == "OK");
  BOOST_TEST(reply_to("Z2,7000,4") == "OK");
  BOOST_TEST(reply_to("Z3,7008,8;X1,0") == "OK");  // a condition is ignored
  BOOST_TEST(reply_to("Z4,7010,2") == "OK");
  // 16 bytes from 0x7fc: split into aligned pieces debug registers can take.
  BOOST_TEST(reply_to("Z2,7fc,10") == "OK");
  BOOST_TEST(reply_to("Z2,7000,0") == "E01");
  std::vector<Call> expected = {
      {true, BreakpointType::Software, 0x401000, 1}, {false, BreakpointType::Software, 0x401000, 1},
      {true, BreakpointType::Hardware, 0x401004, 1}, {true, BreakpointType::WriteWatch, 0x7000, 4},
      {true, BreakpointType::ReadWatch, 0x7008, 8},  {true, BreakpointType::AccessWatch, 0x7010, 2},
      {true, BreakpointType::WriteWatch, 0x7fc, 4},  {true, BreakpointType::WriteWatch, 0x800, 8},
      {true, BreakpointType::WriteWatch, 0x808, 4},
  };
  BOOST_TEST(target.breakpoint_calls == expected);
}

// Every length and count a packet controls is bounded before anything is
// allocated or looped over: one packet must not exhaust the server.
BOOST_AUTO_TEST_CASE(watchpoint_lengths_are_bounded) {
  using Call = FakeTarget::BreakpointCall;
  // Would be 2^61 and 2^60 pieces of 8 bytes.
  BOOST_TEST(reply_to("Z2,0,ffffffffffffffff") == "E01");
  BOOST_TEST(reply_to("Z2,1000,8000000000000000") == "E01");
  BOOST_TEST(reply_to("z2,0,ffffffffffffffff") == "E01");
  // 1, 2, 4, 8, 8, 8 and 1 bytes: more than the 4 debug registers.
  BOOST_TEST(reply_to("Z3,1001,20") == "E01");
  // Across the top of the address space.
  BOOST_TEST(reply_to("Z4,fffffffffffffff8,10") == "E01");
  BOOST_TEST(target.breakpoint_calls.empty());
  // 32 aligned bytes take exactly the 4 registers; the last byte of the
  // address space is fine.
  BOOST_TEST(reply_to("Z2,1000,20") == "OK");
  BOOST_TEST(reply_to("Z2,ffffffffffffffff,1") == "OK");
  std::vector<Call> expected = {
      {true, BreakpointType::WriteWatch, 0x1000, 8},
      {true, BreakpointType::WriteWatch, 0x1008, 8},
      {true, BreakpointType::WriteWatch, 0x1010, 8},
      {true, BreakpointType::WriteWatch, 0x1018, 8},
      {true, BreakpointType::WriteWatch, 0xffffffffffffffff, 1},
  };
  BOOST_TEST(target.breakpoint_calls == expected);
}

BOOST_AUTO_TEST_CASE(memory_ranges_do_not_wrap) {
  target.map(0xffffffffffffffff, {0xaa});
  target.map(0, {0xbb});
  // A read across the top stops there; a write across it is refused.
  BOOST_TEST(reply_to("mffffffffffffffff,2") == "aa");
  BOOST_TEST(reply_to("xffffffffffffffff,ffffffffffffffff") == "\xaa");
  BOOST_TEST(reply_to("Mffffffffffffffff,2:0102") == "E01");
  BOOST_TEST(reply_to("Xffffffffffffffff,2:\x01\x02") == "E01");
  BOOST_TEST(reply_to("m0,1") == "bb");
  BOOST_TEST(reply_to("Mffffffffffffffff,1:01") == "OK");
  // A huge length reads at most what fits in a packet.
  target.map(0x900000, std::vector<uint8_t>(0x20000, 0x11));
  BOOST_TEST(reply_to("m900000,ffffffffffffffff").size() == 2 * (kMaxPacketSize / 2 - 1));
}

BOOST_AUTO_TEST_CASE(packets_while_running_are_bounded) {
  negotiate();
  BOOST_TEST(exchange("$vCont;c#a8", /*run_jobs=*/false) == "+");
  // A client that does not wait for the stop reply: 16 packets wait their
  // turn, the rest are counted and answered with errors, in order.
  std::string flood;
  for (int i = 0; i < 40; ++i) flood += "$m401000,4#f2";
  BOOST_TEST(exchange(flood, false) == "");
  target.stops.push_back(stop(StopKind::Signal, 0x100, SIGTRAP));
  run_job();
  std::string expected = frame_packet("T05thread:p100.100;");
  for (int i = 0; i < 16; ++i) expected += "+" + frame_packet("554889e5");
  for (int i = 16; i < 40; ++i) expected += "+" + frame_packet("E01");
  BOOST_TEST(host.sent == expected);
  BOOST_TEST(reply_to("m401000,4") == "554889e5");
}

BOOST_AUTO_TEST_CASE(vfile_numbers_are_reused) {
  const std::string open = "vFile:open:" + hex("/bin/prog") + ",0,0";
  BOOST_TEST(reply_to(open) == "F3");
  BOOST_TEST(reply_to(open) == "F4");
  BOOST_TEST(reply_to("vFile:close:3") == "F0");
  BOOST_TEST(reply_to(open) == "F3");
  BOOST_TEST(reply_to(open) == "F5");
  // At most 64 at once.
  for (int fd = 6; fd < 3 + 64; ++fd) BOOST_TEST(reply_to(open) == "F" + hex_number(fd));
  BOOST_TEST(reply_to(open) == "F-1,18");  // EMFILE
  BOOST_TEST(reply_to("vFile:pread:3,ffffffffffffffff,ffffffffffffffff") == "F0;");
}

BOOST_AUTO_TEST_CASE(vcont_continue_reports_swbreak) {
  negotiate();
  BOOST_TEST(reply_to("vCont?") == "vCont;c;C;s;S");
  target.stops.push_back(stop(StopKind::Breakpoint, 0x101));
  BOOST_TEST(exchange("$vCont;c#a8") == "+$T05thread:p100.101;swbreak:;#cb");
  BOOST_REQUIRE(target.resumes.size() == 1u);
  BOOST_TEST((target.resumes[0].action == target::ResumeRequest::Action::Continue));
  BOOST_TEST((target.resumes[0].direction == target::Direction::Forward));
  // Registers now come from the thread that stopped.
  BOOST_TEST(reply_to("p10") == "0111400000000000");
  BOOST_TEST(reply_to("?") == "T05thread:p100.101;swbreak:;");
}

BOOST_AUTO_TEST_CASE(vcont_step_names_the_thread) {
  negotiate();
  target.stops.push_back(stop(StopKind::Step, 0x102));
  BOOST_TEST(reply_to("vCont;s:p100.102;c") == "T05thread:p100.102;");
  BOOST_TEST((target.resumes[0].action == target::ResumeRequest::Action::Step));
  BOOST_TEST(target.resumes[0].thread.tid == 0x102);
  // A signal to deliver is accepted and ignored: the recording decides.
  target.stops.push_back(stop(StopKind::Signal, 0x102, SIGUSR1));
  BOOST_TEST(reply_to("vCont;C0a:p100.102") == "T1ethread:p100.102;");  // gdb's SIGUSR1 is 30
  BOOST_TEST(stop_reply_to("vCont;s:p100.200") == "E01");
}

BOOST_AUTO_TEST_CASE(stop_reply_kinds) {
  negotiate();
  auto reply_for = [&](target::StopInfo s) {
    target.stops.push_back(s);
    return reply_to("c");
  };
  target::StopInfo hw = stop(StopKind::HwBreakpoint, 0x100);
  BOOST_TEST(reply_for(hw) == "T05thread:p100.100;hwbreak:;");
  target::StopInfo watch = stop(StopKind::Watchpoint, 0x100);
  watch.watch_addr = 0x7000;
  watch.watch_type = BreakpointType::WriteWatch;
  BOOST_TEST(reply_for(watch) == "T05thread:p100.100;watch:7000;");
  watch.watch_type = BreakpointType::ReadWatch;
  BOOST_TEST(reply_for(watch) == "T05thread:p100.100;rwatch:7000;");
  watch.watch_type = BreakpointType::AccessWatch;
  BOOST_TEST(reply_for(watch) == "T05thread:p100.100;awatch:7000;");
  BOOST_TEST(reply_for(stop(StopKind::Signal, 0x100, SIGBUS)) == "T0athread:p100.100;");
  BOOST_TEST(reply_for(stop(StopKind::Signal, 0x100, 34)) == "T2ethread:p100.100;");
  BOOST_TEST(reply_for(stop(StopKind::HistoryEnd, 0x100)) == "T05thread:p100.100;replaylog:end;");
  target::StopInfo exited = stop(StopKind::Exited, 0x100);
  exited.exit_code = 3;
  BOOST_TEST(reply_for(exited) == "W03;process:100");
  // After the exit only going back makes sense.
  BOOST_TEST(stop_reply_to("c") == "E01");
  target.stops.push_back(stop(StopKind::HistoryBegin, 0x100));
  BOOST_TEST(reply_to("bc") == "T05thread:p100.100;replaylog:begin;");
  BOOST_TEST((target.resumes.back().direction == target::Direction::Reverse));
  BOOST_TEST(reply_for(stop(StopKind::Killed, 0x100, SIGSEGV)) == "X0b;process:100");
}

BOOST_AUTO_TEST_CASE(exec_stop_reply) {
  // Only a client that offers exec-events hears "exec:"; gdb then reloads
  // the image named (in hex), in either direction.
  target::StopInfo exec = stop(StopKind::Exec, 0x100, SIGTRAP);
  exec.exec_path = "/usr/bin/python3.11";
  target.stops.push_back(exec);
  BOOST_TEST(reply_to("c") == "T05thread:100;");
  BOOST_TEST(reply_to("qSupported:multiprocess+;exec-events+").find(";exec-events+") !=
             std::string::npos);
  target.stops.push_back(exec);
  BOOST_TEST(reply_to("bc") == "T05thread:p100.100;exec:" + hex("/usr/bin/python3.11") + ";");
  // LLDB (QListThreadsInStopReply) knows reason:exec.
  BOOST_TEST(reply_to("QListThreadsInStopReply") == "OK");
  target.stops.push_back(exec);
  BOOST_TEST(reply_to("c") == "T05thread:p100.100;exec:" + hex("/usr/bin/python3.11") +
                                  ";reason:exec;threads:100,101,102;");
}

BOOST_AUTO_TEST_CASE(reverse_step_and_list_threads_in_stop_reply) {
  BOOST_TEST(reply_to("QListThreadsInStopReply") == "OK");
  target.stops.push_back(stop(StopKind::Step, 0x101));
  BOOST_TEST(reply_to("bs") == "T05thread:101;threads:100,101,102;");
  BOOST_TEST((target.resumes[0].action == target::ResumeRequest::Action::Step));
  BOOST_TEST((target.resumes[0].direction == target::Direction::Reverse));
}

BOOST_AUTO_TEST_CASE(interrupt_while_running) {
  negotiate();
  // The job is held: the 0x03 arrives while the target "runs".
  BOOST_TEST(exchange("$vCont;c#a8", /*run_jobs=*/false) == "+");
  BOOST_TEST(session.job_running());
  BOOST_TEST(exchange("\x03$m401000,4#f2", false) == "");  // the m waits for the stop
  run_job();
  BOOST_TEST(host.sent == frame_packet("T02thread:p100.100;") + "+$554889e5#e1");
}

BOOST_AUTO_TEST_CASE(vrun_restarts) {
  BOOST_TEST(reply_to("!") == "OK");
  BOOST_TEST(reply_to("vRun;2f62696e2f70726f67") == "T05thread:100;");
  BOOST_TEST(target.restarts == 1);
  BOOST_TEST(reply_to("vKill;100") == "OK");
  BOOST_TEST(!session.finished());
}

BOOST_AUTO_TEST_CASE(detach_and_kill_end_the_session) {
  BOOST_TEST(reply_to("D;100") == "OK");
  BOOST_TEST(session.finished());
  BOOST_TEST(exchange("$m401000,4#f2") == "");  // nothing after the end
}

BOOST_AUTO_TEST_CASE(kill_has_no_reply) {
  BOOST_TEST(request("k") == "+");
  BOOST_TEST(session.finished());
}

BOOST_AUTO_TEST_CASE(target_xml_and_chunking) {
  const std::string full = reply_to("qXfer:features:read:target.xml:0,10000");
  BOOST_REQUIRE(full.starts_with("l<?xml"));
  BOOST_TEST(full.find("<architecture>i386:x86-64</architecture>") != std::string::npos);
  BOOST_TEST(full.find("<osabi>GNU/Linux</osabi>") != std::string::npos);
  BOOST_TEST(full.find("<xi:include href=\"64bit-core.xml\"/>") != std::string::npos);
  BOOST_TEST(full.find("<xi:include href=\"64bit-avx.xml\"/>") != std::string::npos);
  BOOST_TEST(full.find("<reg") == std::string::npos);  // includes only
  const std::string doc = full.substr(1);

  BOOST_TEST(reply_to("qXfer:features:read:target.xml:0,10") == "m" + doc.substr(0, 0x10));
  BOOST_TEST(reply_to("qXfer:features:read:target.xml:10,10") == "m" + doc.substr(0x10, 0x10));
  const std::string tail_offset = hex_number(doc.size() - 5);
  BOOST_TEST(reply_to("qXfer:features:read:target.xml:" + tail_offset + ",100") ==
             "l" + doc.substr(doc.size() - 5));
  BOOST_TEST(reply_to("qXfer:features:read:target.xml:" + hex_number(doc.size()) + ",100") == "l");

  const std::string core = reply_to("qXfer:features:read:64bit-core.xml:0,10000");
  BOOST_TEST(core.find("<feature name=\"org.gnu.gdb.i386.core\">") != std::string::npos);
  BOOST_TEST(core.find("<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\" regnum=\"16\"/>") !=
             std::string::npos);
  BOOST_TEST(core.find("name=\"st7\" bitsize=\"80\" type=\"i387_ext\" regnum=\"31\"") !=
             std::string::npos);
  const std::string sse = reply_to("qXfer:features:read:64bit-sse.xml:0,10000");
  BOOST_TEST(sse.find("name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" regnum=\"56\"") !=
             std::string::npos);
  BOOST_TEST(reply_to("qXfer:features:read:64bit-linux.xml:0,10000").find("orig_rax") !=
             std::string::npos);
  BOOST_TEST(reply_to("qXfer:features:read:64bit-segments.xml:0,10000").find("fs_base") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_avx_feature_without_avx) {
  for (auto& [tid, r] : target.regs) r.has_avx = false;
  const std::string full = reply_to("qXfer:features:read:target.xml:0,10000");
  BOOST_TEST(full.find("64bit-avx.xml") == std::string::npos);
  BOOST_TEST(reply_to("qXfer:features:read:64bit-avx.xml:0,10000") == "E01");
  BOOST_TEST(reply_to("g").size() ==
             2u * (16 * 8 + 8 + 7 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 3 * 8));
  BOOST_TEST(reply_to("p3c") == "E01");
}

BOOST_AUTO_TEST_CASE(auxv_and_exec_file) {
  BOOST_TEST(request("qXfer:auxv:read::0,100") ==
             "+" + frame_packet(std::string("l\x06\0\0\0\0\0\0\0\0\x10\0\0\0\0\0\0", 17)));
  BOOST_TEST(reply_to("qXfer:exec-file:read:100:0,100") == "l/bin/prog");
  BOOST_TEST(reply_to("qXfer:exec-file:read::0,100") == "l/bin/prog");
  BOOST_TEST(reply_to("qXfer:exec-file:read:100:0,4") == "m/bin");
  BOOST_TEST(reply_to("qXfer:exec-file:read:999:0,100") == "E01");
}

BOOST_AUTO_TEST_CASE(vfile_open_pread_fstat_close) {
  const std::string path = hex("/bin/prog");
  BOOST_TEST(reply_to("vFile:setfs:0") == "F0");
  BOOST_TEST(reply_to("vFile:open:" + path + ",0,1ed") == "F3");
  BOOST_TEST(reply_to("vFile:pread:3,10,0") == "F10;" + std::string(16, 'E'));
  BOOST_TEST(reply_to("vFile:pread:3,10,1380") == "F8;" + std::string(8, 'E'));  // 5000 = 0x1388
  BOOST_TEST(reply_to("vFile:pread:3,10,2000") == "F0;");

  std::string fstat = request("vFile:fstat:3");
  std::string st(64, '\0');
  st[8] = 0;  // st_mode 0100444, big-endian
  st[9] = 0;
  st[10] = static_cast<char>(0x81);
  st[11] = 0x24;
  st[15] = 1;     // st_nlink
  st[34] = 0x13;  // st_size 0x1388 at offset 28
  st[35] = static_cast<char>(0x88);
  st[42] = 0x10;  // st_blksize 4096
  st[51] = 10;    // st_blocks
  BOOST_TEST(fstat == "+" + frame_packet("F40;" + escape_binary(st)));

  BOOST_TEST(reply_to("vFile:close:3") == "F0");
  BOOST_TEST(reply_to("vFile:close:3") == "F-1,9");  // EBADF
  BOOST_TEST(reply_to("vFile:pread:3,10,0") == "F-1,9");
  BOOST_TEST(reply_to("vFile:open:" + hex("/nonexistent") + ",0,0") == "F-1,2");  // ENOENT
  // The target's refusal (EACCES) reaches gdb as File-I/O EACCES.
  BOOST_TEST(reply_to("vFile:open:" + hex("/usr/lib/debug/.build-id/../../../../etc/shadow") +
                      ",0,0") == "F-1,d");
  BOOST_TEST(reply_to("vFile:open:" + path + ",1,0") == "F-1,1e");  // EROFS for writing
  BOOST_TEST(reply_to("vFile:open:zz,0,0") == "F-1,16");            // EINVAL
  BOOST_TEST(reply_to("vFile:unlink:" + path) == "");               // not offered
}

BOOST_AUTO_TEST_CASE(monitor_commands) {
  BOOST_TEST(request("qRcmd," + hex("when")) ==
             "+" + frame_packet("O" + hex("Current event: 42\n")) + frame_packet("OK"));
  BOOST_TEST(request("qRcmd," + hex("checkpoint")) ==
             "+" + frame_packet("O" + hex("Checkpoint 1 at event 42, pc 0x401100\n")) +
                 frame_packet("OK"));
  BOOST_TEST(request("qRcmd," + hex("seek 100")).find(hex("Now at event 100.\n")) !=
             std::string::npos);
  BOOST_TEST(target.event == 100u);
  BOOST_TEST(request("qRcmd," + hex("info checkpoints")).find(hex("1\tevent 42, pc 0x401100\n")) !=
             std::string::npos);
  BOOST_TEST(request("qRcmd," + hex("restart 1")).find(hex("Restarted from checkpoint 1")) !=
             std::string::npos);
  BOOST_TEST(target.event == 42u);
  BOOST_TEST(request("qRcmd," + hex("restart 7")).find(hex("Cannot restart checkpoint 7")) !=
             std::string::npos);
  BOOST_TEST(request("qRcmd," + hex("seek x")).find(hex("Usage: monitor seek")) !=
             std::string::npos);
  BOOST_TEST(request("qRcmd," + hex("help")).find(hex("seek N")) != std::string::npos);
  BOOST_TEST(
      request("qRcmd," + hex("frobnicate")) ==
      "+" + frame_packet("O" + hex("Unknown monitor command 'frobnicate'. Try 'monitor help'.\n")) +
          frame_packet("OK"));
}

BOOST_AUTO_TEST_CASE(lldb_queries) {
  const std::string host_info = reply_to("qHostInfo");
  BOOST_TEST(host_info.find("triple:" + hex("x86_64-pc-linux-gnu") + ";") != std::string::npos);
  BOOST_TEST(host_info.find("ptrsize:8;") != std::string::npos);
  BOOST_TEST(host_info.find("endian:little;") != std::string::npos);
  BOOST_TEST(host_info.find("default_packet_timeout:120;") != std::string::npos);
  BOOST_TEST(reply_to("qProcessInfo").starts_with("pid:100;triple:" + hex("x86_64-pc-linux-gnu")));
  BOOST_TEST(reply_to("qGDBServerVersion") == "name:rewind;version:0.1;");
  BOOST_TEST(reply_to("qRegisterInfo0") == "E45");
  BOOST_TEST(reply_to("QThreadSuffixSupported") == "");
  BOOST_TEST(reply_to("qVAttachOrWaitSupported") == "");
  BOOST_TEST(reply_to("qAttached:100") == "1");
  BOOST_TEST(reply_to("qOffsets") == "");
  BOOST_TEST(reply_to("qSymbol::") == "OK");
}

BOOST_AUTO_TEST_SUITE_END()
