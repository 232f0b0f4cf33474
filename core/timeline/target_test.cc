// Drives ReplayTarget directly (no protocol) on a recorded program: the
// forward and reverse operations a debugger front end builds on.
//
// usage (from ctest): target_test -- REWIND_BINARY DEBUG_TARGET_PROGRAM
#define BOOST_TEST_MODULE replay_target
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/timeline/RecordedFiles.h"
#include "core/timeline/ReplayTarget.h"

using namespace rwd;
using target::BreakpointType;
using target::Direction;
using Resume = target::ResumeRequest;
using target::StopKind;

namespace {

struct Recording {
  std::filesystem::path dir;
  uint64_t tick = 0, counter = 0;

  Recording() {
    auto& argv = boost::unit_test::framework::master_test_suite().argv;
    BOOST_REQUIRE_EQUAL(boost::unit_test::framework::master_test_suite().argc, 3);
    char tmpl[] = "/tmp/rewind-target-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl));
    dir = tmpl;
    std::string cmd = std::string(argv[1]) + " record -o " + (dir / "trace").string() + " " +
                      argv[2] + " > " + (dir / "out").string();
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    std::ifstream out(dir / "out");
    std::string line;
    std::getline(out, line);
    BOOST_REQUIRE(sscanf(line.c_str(), "tick=%lx counter=%lx", &tick, &counter) == 2);
  }
  ~Recording() { std::filesystem::remove_all(dir); }
};

long read_counter(ReplayTarget& t, const Recording& r) {
  long v = 0;
  auto n = t.read_memory(t.current_thread().pid, r.counter, &v, sizeof v);
  BOOST_REQUIRE(n.ok() && *n == sizeof v);
  return v;
}

uint64_t pc(ReplayTarget& t) {
  auto regs = t.registers(t.current_thread());
  BOOST_REQUIRE(regs.ok());
  return regs->gp.rip;
}

Result<target::StopInfo> go(ReplayTarget& t, Resume::Action a, Direction d) {
  Resume req;
  req.action = a;
  req.direction = d;
  req.thread = t.current_thread();
  return t.resume(req);
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_reverse) {
  Recording rec;
  auto target = ReplayTarget::open(rec.dir / "trace", ReplayOptions{});
  BOOST_REQUIRE(target.ok());
  ReplayTarget& t = **target;
  BOOST_REQUIRE(t.start().ok());
  BOOST_TEST(read_counter(t, rec) == 1337);

  // Forward to the breakpoint, four times: tick(0..3).
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  uint8_t byte = 0;
  BOOST_REQUIRE(t.read_memory(t.current_thread().pid, rec.tick, &byte, 1).ok());
  BOOST_TEST(byte != 0xcc);  // the int3 is hidden
  std::vector<long> seen;
  for (int i = 0; i < 4; ++i) {
    auto s = go(t, Resume::Action::Continue, Direction::Forward);
    BOOST_REQUIRE(s.ok());
    BOOST_REQUIRE((s->kind == StopKind::Breakpoint));
    BOOST_TEST(pc(t) == rec.tick);
    seen.push_back(read_counter(t, rec));
  }
  // Before tick(3) runs: counter after tick(0..2) = ((1337*3+0)*3+1)*3+2.
  BOOST_TEST(seen[3] == ((1337 * 3 + 0) * 3 + 1) * 3 + 2);

  // Reverse-continue goes back to the previous hit, with the earlier value.
  auto back = go(t, Resume::Action::Continue, Direction::Reverse);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back->kind == StopKind::Breakpoint));
  BOOST_TEST(pc(t) == rec.tick);
  BOOST_TEST(read_counter(t, rec) == seen[2]);

  // A single step forward, then a reverse step back onto the breakpoint.
  auto step = go(t, Resume::Action::Step, Direction::Forward);
  BOOST_REQUIRE(step.ok());
  BOOST_TEST((step->kind == StopKind::Step));
  const uint64_t after_step = pc(t);
  BOOST_TEST(after_step != rec.tick);
  auto rstep = go(t, Resume::Action::Step, Direction::Reverse);
  BOOST_REQUIRE(rstep.ok());
  BOOST_TEST((rstep->kind == StopKind::Step));
  BOOST_TEST(pc(t) == rec.tick);
  BOOST_TEST(read_counter(t, rec) == seen[2]);

  // Reverse-continue past the first hit reaches the start of history.
  for (int i = 0; i < 2; ++i)
    BOOST_REQUIRE(go(t, Resume::Action::Continue, Direction::Reverse).ok());
  auto begin = go(t, Resume::Action::Continue, Direction::Reverse);
  BOOST_REQUIRE(begin.ok());
  BOOST_TEST((begin->kind == StopKind::HistoryBegin));
  BOOST_TEST(read_counter(t, rec) == 1337);

  // A watchpoint going forward stops after the write; going backward it
  // stops before it.
  BOOST_REQUIRE(t.remove_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::WriteWatch, rec.counter, 8).ok());
  auto w1 = go(t, Resume::Action::Continue, Direction::Forward);
  if (!w1.ok()) BOOST_TEST_MESSAGE(w1.error().message);
  BOOST_REQUIRE(w1.ok());
  BOOST_TEST((w1->kind == StopKind::Watchpoint));
  BOOST_TEST(w1->watch_addr == rec.counter);
  BOOST_TEST(read_counter(t, rec) == 1337 * 3);
  auto w0 = go(t, Resume::Action::Continue, Direction::Reverse);
  if (!w0.ok()) BOOST_TEST_MESSAGE(w0.error().message);
  BOOST_REQUIRE(w0.ok());
  BOOST_TEST((w0->kind == StopKind::Watchpoint));
  BOOST_TEST(read_counter(t, rec) == 1337);

  // Forward to the end: replay stops before the exit, at the end of
  // history, with the final state still there; and can go back from it.
  BOOST_REQUIRE(t.remove_breakpoint(BreakpointType::WriteWatch, rec.counter, 8).ok());
  auto end = go(t, Resume::Action::Continue, Direction::Forward);
  BOOST_REQUIRE(end.ok());
  BOOST_TEST((end->kind == StopKind::HistoryEnd));
  const long final_value = read_counter(t, rec);
  BOOST_TEST(final_value == ((42 * 3 + 4) * 3 + 5));
  auto again = go(t, Resume::Action::Continue, Direction::Forward);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((again->kind == StopKind::HistoryEnd));
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  auto last = go(t, Resume::Action::Continue, Direction::Reverse);
  BOOST_REQUIRE(last.ok());
  BOOST_TEST((last->kind == StopKind::Breakpoint));
  BOOST_TEST(read_counter(t, rec) == 42 * 3 + 4);  // before tick(5)
}

// An operation that fails leaves the replay where the debugger last saw
// it. Here a reverse-continue fails for certain: back to a breakpoint never
// hit since (the first instruction), it replays every stretch to the
// start, and the first maps libc again from the trace's copy, removed
// here. (Not back to tick, nor a reverse-step or a seek: under load the
// forward run leaves a time-based mark after libc was mapped, and those
// start there.)
BOOST_AUTO_TEST_CASE(failed_operations_stay_put) {
  Recording rec;
  auto target = ReplayTarget::open(rec.dir / "trace", ReplayOptions{});
  BOOST_REQUIRE(target.ok());
  ReplayTarget& t = **target;
  BOOST_REQUIRE(t.start().ok());
  const uint64_t entry = pc(t);
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  for (int i = 0; i < 2; ++i)
    BOOST_REQUIRE(go(t, Resume::Action::Continue, Direction::Forward).ok());
  const long counter = read_counter(t, rec);  // before tick(1)
  BOOST_TEST(counter == 1337 * 3);
  const uint64_t event = t.current_event();
  auto stays = [&] {
    BOOST_TEST(pc(t) == rec.tick);
    BOOST_TEST(read_counter(t, rec) == counter);
    BOOST_TEST(t.current_event() == event);
  };

  int removed = 0;
  for (const auto& f : std::filesystem::directory_iterator(rec.dir / "trace" / "files"))
    if (f.path().filename().string().starts_with("libc.so.6")) {
      std::filesystem::remove(f.path());
      ++removed;
    }
  BOOST_REQUIRE(removed == 1);

  BOOST_REQUIRE(t.remove_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::Software, entry, 1).ok());
  auto rc = go(t, Resume::Action::Continue, Direction::Reverse);
  BOOST_REQUIRE(!rc.ok());
  BOOST_TEST(rc.error().message.starts_with("reverse-continue: "));
  BOOST_TEST(rc.error().message.find("libc.so.6") != std::string::npos);
  stays();
  BOOST_REQUIRE(t.remove_breakpoint(BreakpointType::Software, entry, 1).ok());
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::Software, rec.tick, 1).ok());

  // Forward replay goes on from there.
  auto next = go(t, Resume::Action::Continue, Direction::Forward);
  BOOST_REQUIRE(next.ok());
  BOOST_TEST((next->kind == StopKind::Breakpoint));
  BOOST_TEST(read_counter(t, rec) == 1337 * 3 * 3 + 1);  // before tick(2)
}

// The path of this process's libc, as the recording of the test program
// maps it too.
std::string libc_path() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    size_t slash = line.find('/');
    if (slash != std::string::npos && line.find("/libc.so.6") != std::string::npos)
      return line.substr(slash);
  }
  return {};
}

// vFile serves the trace's files and nothing else of this machine: the
// server may run as root for a user who could not read /etc/shadow.
BOOST_AUTO_TEST_CASE(recorded_files_only) {
  Recording rec;
  auto target = ReplayTarget::open(rec.dir / "trace", ReplayOptions{});
  BOOST_REQUIRE(target.ok());
  ReplayTarget& t = **target;
  BOOST_REQUIRE(t.start().ok());

  // The program and its libraries, by the paths it used or any other way
  // to the same file.
  const std::string program = boost::unit_test::framework::master_test_suite().argv[2];
  auto head = t.read_recorded_file(program, 0, 4);
  BOOST_REQUIRE(head.ok());
  BOOST_TEST(std::string(head->begin(), head->end()) ==
             "\x7f"
             "ELF");
  BOOST_TEST(t.recorded_file_size(program).ok());
  const std::string libc = libc_path();
  BOOST_REQUIRE(!libc.empty());
  BOOST_TEST(t.recorded_file_size(libc).ok());
  auto past_end = t.read_recorded_file(libc, uint64_t{1} << 63, 16);
  BOOST_REQUIRE(past_end.ok());
  BOOST_TEST(past_end->empty());

  // A file of this machine the recording never saw, directly and through
  // a symlink; the server's own /proc files.
  const std::string secret = (rec.dir / "secret").string();
  std::ofstream(secret) << "not for the debugger";
  std::filesystem::create_symlink(secret, rec.dir / "link");
  for (const std::string& path :
       {secret, (rec.dir / "link").string(), std::string("/etc/shadow"), std::string("/etc/passwd"),
        std::string("/proc/self/environ"), std::string("/proc/self/maps"),
        std::string("/proc/self/mem"), std::string("../../../../../../etc/shadow")}) {
    BOOST_TEST_CONTEXT(path) {
      auto size = t.recorded_file_size(path);
      BOOST_TEST(!size.ok());
      if (!size.ok()) BOOST_TEST(size.error().errnum == ENOENT);
      BOOST_TEST(!t.read_recorded_file(path, 0, 16).ok());
    }
  }
  // Up and out of the debug-info directory.
  const std::string escape = std::string(kBuildIdDebugDir) + "/../../../../etc/shadow";
  auto up = t.recorded_file_size(escape);
  BOOST_TEST(!up.ok());
  if (!up.ok()) BOOST_TEST(up.error().errnum == EACCES);

  // Installed separate debug info, if any, is served.
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(kBuildIdDebugDir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || it->is_symlink()) continue;
    BOOST_TEST_CONTEXT(it->path().string()) {
      auto debug = t.read_recorded_file(it->path().string(), 0, 4);
      BOOST_REQUIRE(debug.ok());
      BOOST_TEST(std::string(debug->begin(), debug->end()) ==
                 "\x7f"
                 "ELF");
    }
    break;
  }
}

// The kernel keeps a lookup beneath the directory: no "..", no symlink
// out, no /proc magic link, and only regular files.
BOOST_AUTO_TEST_CASE(open_file_beneath_stays_inside) {
  char tmpl[] = "/tmp/rewind-beneath-XXXXXX";
  BOOST_REQUIRE(mkdtemp(tmpl));
  const std::filesystem::path top = tmpl;
  const std::filesystem::path dir = top / ".build-id";
  std::filesystem::create_directories(dir / "ab");
  std::ofstream(top / "secret") << "outside";
  std::ofstream(dir / "ab" / "cd.debug") << "\x7f"
                                            "ELF";
  std::filesystem::create_symlink("cd.debug", dir / "ab" / "inside.debug");
  std::filesystem::create_symlink("../../secret", dir / "ab" / "up.debug");
  std::filesystem::create_symlink(top / "secret", dir / "ab" / "absolute.debug");
  std::filesystem::create_symlink("/proc/self/environ", dir / "ab" / "magic.debug");
  BOOST_REQUIRE(mkfifo((dir / "ab" / "fifo.debug").c_str(), 0600) == 0);

  const std::string d = dir.string();
  auto errno_of = [&](const std::string& path) {
    Result<ScopedFd> fd = open_file_beneath(d, path);
    return fd.ok() ? 0 : fd.error().errnum;
  };
  BOOST_TEST(errno_of(d + "/ab/cd.debug") == 0);
  BOOST_TEST(errno_of(d + "/ab/inside.debug") == 0);
  BOOST_TEST(errno_of(d + "/ab/../ab/cd.debug") == 0);  // ".." that stays inside
  BOOST_TEST(errno_of(d + "/ab/up.debug") == EACCES);
  BOOST_TEST(errno_of(d + "/ab/absolute.debug") == EACCES);
  BOOST_TEST(errno_of(d + "/ab/magic.debug") == EACCES);
  BOOST_TEST(errno_of(d + "/../secret") == EACCES);
  BOOST_TEST(errno_of(d + "//" + (top / "secret").string()) == EACCES);
  BOOST_TEST(errno_of(d + "/ab/fifo.debug") == EACCES);  // and did not wait for a writer
  BOOST_TEST(errno_of(d + "/ab") == EACCES);
  BOOST_TEST(errno_of(d + "/ab/missing.debug") == ENOENT);
  BOOST_TEST(errno_of(d + "x/ab/cd.debug") == ENOENT);
  BOOST_TEST(errno_of(d) == ENOENT);
  BOOST_TEST(errno_of((top / "secret").string()) == ENOENT);
  BOOST_TEST(errno_of(d + "/ab/cd.debug" + std::string(1, '\0') + "/../../secret") == ENOENT);
  std::filesystem::remove_all(top);
}
