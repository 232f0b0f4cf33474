// Unit tests of the layers under the Session: framing, parsing, registers,
// stop replies.
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include "gdbstub/PacketFraming.h"
#include "gdbstub/PacketParser.h"
#include "gdbstub/Registers.h"
#include "gdbstub/StopReply.h"

using namespace rwd;
using namespace rwd::gdbstub;
using Kind = ClientEvent::Kind;

BOOST_AUTO_TEST_SUITE(framing)

BOOST_AUTO_TEST_CASE(frames_and_checksums) {
  BOOST_TEST(frame_packet("OK") == "$OK#9a");
  BOOST_TEST(frame_packet("") == "$#00");
  BOOST_TEST(checksum("qSupported") == 0x37);
}

BOOST_AUTO_TEST_CASE(decoder_events) {
  PacketDecoder d;
  std::vector<ClientEvent> ev;
  d.feed("+-\x03$OK#9a$OK#9b", ev);
  std::vector<ClientEvent> expected = {{Kind::Ack, ""},
                                       {Kind::Nack, ""},
                                       {Kind::Interrupt, ""},
                                       {Kind::Packet, "OK"},
                                       {Kind::BadChecksum, ""}};
  BOOST_TEST((ev == expected));
}

BOOST_AUTO_TEST_CASE(decoder_survives_garbage) {
  PacketDecoder d;
  std::vector<ClientEvent> ev;
  std::string noise;
  for (int i = 0; i < 256; ++i) noise.push_back(static_cast<char>(i));
  d.feed(noise + noise + "#$##$", ev);
  ev.clear();
  d.feed("$OK#9a", ev);  // a frame restart resynchronises
  BOOST_REQUIRE(!ev.empty());
  BOOST_TEST((ev.back() == ClientEvent{Kind::Packet, "OK"}));
}

BOOST_AUTO_TEST_CASE(escaping_round_trips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string escaped = escape_binary(all);
  for (char c : {'$', '#', '*'}) BOOST_TEST(escaped.find(c) == std::string::npos);
  Result<std::vector<uint8_t>> back = unescape_binary(escaped);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(std::string(back->begin(), back->end()) == all);
  BOOST_TEST(escape_binary("a}b") == "a}]b");
  BOOST_TEST(!unescape_binary("ab}").ok());
}

BOOST_AUTO_TEST_CASE(run_length) {
  std::string out;
  BOOST_TEST(run_length_decode("0* 1", out));
  BOOST_TEST(out == "00001");
  BOOST_TEST(!run_length_decode("*!", out));  // nothing to repeat
  BOOST_TEST(!run_length_decode("0*", out));  // no count
  BOOST_TEST(!run_length_decode("0*\x01", out));
}

BOOST_AUTO_TEST_CASE(printable_for_logs) {
  BOOST_TEST(printable("a\x03\\") == "a\\x03\\x5c");
  BOOST_TEST(printable(std::string(1000, 'x')).ends_with("(1000 bytes)"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parser)

BOOST_AUTO_TEST_CASE(hex_numbers) {
  BOOST_TEST(*parse_hex_number("0") == 0u);
  BOOST_TEST(*parse_hex_number("FfFfFfFfFfFfFfFf") == ~0ull);
  BOOST_TEST(!parse_hex_number("").ok());
  BOOST_TEST(!parse_hex_number("1g").ok());
  BOOST_TEST(!parse_hex_number("-1").ok());
  BOOST_TEST(!parse_hex_number("10000000000000000").ok());
  BOOST_TEST(hex_number(0) == "0");
  BOOST_TEST(hex_number(0x401000) == "401000");
  BOOST_TEST(!from_hex("abc").ok());
  BOOST_TEST(!from_hex("zz").ok());
}

BOOST_AUTO_TEST_CASE(thread_ids) {
  BOOST_TEST((*parse_thread_id("p1.2") == ThreadSelector{1, 2}));
  BOOST_TEST((*parse_thread_id("p1.-1") == ThreadSelector{1, kAllThreads}));
  BOOST_TEST((*parse_thread_id("p1") == ThreadSelector{1, kAllThreads}));
  BOOST_TEST((*parse_thread_id("p-1") == ThreadSelector{kAllThreads, kAllThreads}));
  BOOST_TEST((*parse_thread_id("p0.0") == ThreadSelector{0, kAnyThread}));
  BOOST_TEST((*parse_thread_id("-1") == ThreadSelector{std::nullopt, kAllThreads}));
  BOOST_TEST((*parse_thread_id("0") == ThreadSelector{std::nullopt, kAnyThread}));
  BOOST_TEST((*parse_thread_id("1a") == ThreadSelector{std::nullopt, 0x1a}));
  for (const char* bad : {"", "p", "p.", "p1.", "px.1", "p1.x", "-2", "p1.2.3", "100000000"})
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!parse_thread_id(bad).ok());
    }
  BOOST_TEST(format_thread_id({0x10, 0x11}, true) == "p10.11");
  BOOST_TEST(format_thread_id({0x10, 0x11}, false) == "11");
}

BOOST_AUTO_TEST_CASE(vcont_actions) {
  Result<std::vector<VContAction>> a = parse_vcont("s:p1.2;C1e;c");
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE(a->size() == 3u);
  BOOST_TEST((*a)[0].action == 's');
  BOOST_TEST(((*a)[0].thread == ThreadSelector{1, 2}));
  BOOST_TEST((*a)[1].signal == 0x1e);
  BOOST_TEST(!(*a)[2].thread.has_value());
  for (const char* bad : {"", "t", "r1,2", "cc", "C", "S1ff", "c:", "s:p1.x"})
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!parse_vcont(bad).ok());
    }
}

BOOST_AUTO_TEST_CASE(structured_arguments) {
  BOOST_TEST(parse_memory_range("10,20")->len == 0x20u);
  BOOST_TEST(parse_memory_write("10,2:abcd")->data == "abcd");
  BOOST_TEST(!parse_memory_write("10,2").ok());
  BOOST_TEST(parse_breakpoint("2,1000,8;X3,abc")->kind == 8u);
  BOOST_TEST(!parse_breakpoint("12,1000,8").ok());
  BOOST_TEST(parse_xfer_read("target.xml:0,fff")->annex == "target.xml");
  BOOST_TEST(parse_xfer_read(":10,20")->offset == 0x10u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registers)

BOOST_AUTO_TEST_CASE(x87_tag_word) {
  user_fpregs_struct fp{};
  BOOST_TEST(full_x87_tag_word(fp) == 0xffffu);  // all empty
  // top = 7 and st0 = 1.0 (exponent 0x3fff, integer bit set): physical
  // register 7 is valid; st1 = 0.0 in physical 0 is "zero".
  fp.swd = 7 << 11;
  fp.ftw = 0x81;
  auto* st = reinterpret_cast<uint8_t*>(fp.st_space);
  st[7] = 0x80;
  st[8] = 0xff;
  st[9] = 0x3f;
  const uint16_t full = full_x87_tag_word(fp);
  BOOST_TEST(full == 0x3ffdu);  // phys 0: zero (01), 1-6: empty, 7: valid (00)
  BOOST_TEST(abridged_x87_tag_word(full) == 0x81u);
}

BOOST_AUTO_TEST_CASE(table_matches_gdb_numbering) {
  auto regs = amd64_registers();
  BOOST_TEST(regs.size() == 76u);
  BOOST_TEST(std::string(regs[24].name) == "st0");
  BOOST_TEST(std::string(regs[32].name) == "fctrl");
  BOOST_TEST(std::string(regs[39].name) == "fop");
  BOOST_TEST(std::string(regs[58].name) == "fs_base");
  for (const RegisterInfo& r : regs) BOOST_TEST(r.size <= static_cast<size_t>(r.bitsize / 8));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(gdb_signal_numbers) {
  BOOST_TEST(gdb_signal_from_linux(SIGINT) == 2);
  BOOST_TEST(gdb_signal_from_linux(SIGTRAP) == 5);
  BOOST_TEST(gdb_signal_from_linux(SIGSEGV) == 11);
  BOOST_TEST(gdb_signal_from_linux(SIGBUS) == 10);
  BOOST_TEST(gdb_signal_from_linux(SIGCHLD) == 20);
  BOOST_TEST(gdb_signal_from_linux(SIGSYS) == 12);
  BOOST_TEST(gdb_signal_from_linux(32) == 77);
  BOOST_TEST(gdb_signal_from_linux(33) == 45);
  BOOST_TEST(gdb_signal_from_linux(63) == 75);
  BOOST_TEST(gdb_signal_from_linux(64) == 78);
  BOOST_TEST(gdb_signal_from_linux(0) == 143);
}
