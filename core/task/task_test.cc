// Unit tests for the parts of the task layer that need no tracee.
#define BOOST_TEST_MODULE task
#include <boost/test/unit_test.hpp>

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/task/ProcMaps.h"
#include "core/task/Task.h"
#include "core/task/WaitStatus.h"

using namespace rwd;

BOOST_AUTO_TEST_CASE(parses_maps_lines) {
  KernelMapping m;
  BOOST_REQUIRE(
      parse_maps_line("7ffff7fcb000-7ffff7ff1000 r-xp 00001000 fe:01 1234567   "
                      "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                      m));
  BOOST_TEST(m.start == 0x7ffff7fcb000ull);
  BOOST_TEST(m.end == 0x7ffff7ff1000ull);
  BOOST_TEST(m.prot == (PROT_READ | PROT_EXEC));
  BOOST_TEST(!m.shared);
  BOOST_TEST(m.offset == 0x1000ull);
  BOOST_TEST(m.dev_major == 0xfeu);
  BOOST_TEST(m.dev_minor == 1u);
  BOOST_TEST(m.inode == 1234567ull);
  BOOST_TEST(m.name == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  BOOST_TEST(m.is_file());

  BOOST_REQUIRE(parse_maps_line("7ffffffde000-7ffffffff000 rw-s 00000000 00:00 0   [stack]", m));
  BOOST_TEST(m.shared);
  BOOST_TEST(m.name == "[stack]");
  BOOST_TEST(!m.is_file());

  // Anonymous mappings have no name; names may contain spaces.
  BOOST_REQUIRE(parse_maps_line("10000-11000 ---p 00000000 00:00 0 ", m));
  BOOST_TEST(m.name.empty());
  BOOST_TEST(m.prot == PROT_NONE);
  BOOST_REQUIRE(parse_maps_line("10000-11000 r--p 00000000 08:01 5 /tmp/a b (deleted)", m));
  BOOST_TEST(m.name == "/tmp/a b (deleted)");

  BOOST_TEST(!parse_maps_line("garbage", m));
  BOOST_TEST(!parse_maps_line("", m));
}

BOOST_AUTO_TEST_CASE(reads_own_maps) {
  auto maps = read_proc_maps(getpid());
  BOOST_REQUIRE(maps.ok());
  bool found_stack = false;
  for (auto& m : *maps) found_stack |= m.name == "[stack]";
  BOOST_TEST(found_stack);
  BOOST_TEST(!read_proc_maps(0x7fffffff).ok());  // no such process
}

// /proc/PID/maps hands out at most a page per read(2): a maps file of many
// pages must come back whole, line for line.
BOOST_AUTO_TEST_CASE(reads_maps_longer_than_a_page) {
  constexpr int kRegions = 300;  // ~75 bytes a line: several pages
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // Alternating protections keep the kernel from merging neighbours.
  auto* base = static_cast<uint8_t*>(
      mmap(nullptr, 2 * kRegions * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  BOOST_REQUIRE(base != MAP_FAILED);
  for (int i = 0; i < kRegions; ++i)
    BOOST_REQUIRE(mprotect(base + 2 * i * page, page, PROT_READ) == 0);
  auto maps = read_proc_maps(getpid());
  BOOST_REQUIRE(maps.ok());
  int readable = 0;
  for (auto& m : *maps) {
    const auto start = reinterpret_cast<uint64_t>(base);
    if (m.start >= start && m.end <= start + 2 * kRegions * page && m.prot == PROT_READ &&
        m.end - m.start == page && m.name.empty())
      ++readable;
  }
  BOOST_TEST(readable == kRegions);
  munmap(base, 2 * kRegions * page);
}

BOOST_AUTO_TEST_CASE(decodes_wait_statuses) {
  // Values as the kernel builds them (wait(2), ptrace(2)).
  BOOST_TEST((WaitStatus(42 << 8).kind() == WaitStatus::Kind::Exited));
  BOOST_TEST(WaitStatus(42 << 8).exit_code() == 42);
  BOOST_TEST((WaitStatus(SIGSEGV).kind() == WaitStatus::Kind::Killed));
  BOOST_TEST(WaitStatus(SIGSEGV).fatal_sig() == SIGSEGV);
  BOOST_TEST((WaitStatus(0x7f | ((SIGTRAP | 0x80) << 8)).kind() == WaitStatus::Kind::SyscallStop));
  WaitStatus sigstop(0x7f | (SIGSTOP << 8));
  BOOST_TEST((sigstop.kind() == WaitStatus::Kind::SignalDeliveryStop));
  BOOST_TEST(sigstop.stop_sig() == SIGSTOP);
  WaitStatus fork_stop(0x7f | (SIGTRAP << 8) | (PTRACE_EVENT_FORK << 16));
  BOOST_TEST((fork_stop.kind() == WaitStatus::Kind::EventStop));
  BOOST_TEST(fork_stop.ptrace_event() == PTRACE_EVENT_FORK);
  // Under PTRACE_SEIZE a group-stop is PTRACE_EVENT_STOP with the stopping signal.
  BOOST_TEST((WaitStatus(0x7f | (SIGTSTP << 8) | (PTRACE_EVENT_STOP << 16)).kind() ==
              WaitStatus::Kind::GroupStop));
}

BOOST_AUTO_TEST_CASE(classifies_signals) {
  siginfo_t si{};
  si.si_code = SEGV_MAPERR;
  BOOST_TEST(is_synchronous_fault(SIGSEGV, si));
  si.si_code = SI_KERNEL;  // #GP, int3
  BOOST_TEST(is_synchronous_fault(SIGSEGV, si));
  si.si_code = SI_USER;  // kill(pid, SIGSEGV)
  BOOST_TEST(!is_synchronous_fault(SIGSEGV, si));
  si.si_code = SI_TKILL;
  BOOST_TEST(!is_synchronous_fault(SIGSEGV, si));
  si.si_code = CLD_EXITED;  // positive, but SIGCHLD is never a fault
  BOOST_TEST(!is_synchronous_fault(SIGCHLD, si));
  BOOST_TEST(signal_name(SIGSEGV) == "SIGSEGV");
  BOOST_TEST(signal_name(SIGRTMIN + 2) == "SIGRTMIN+2");
}

// What replay's stuck check reads (ReplaySession::check_not_stuck): a
// thread asleep in the kernel reads 'S', and its switch count stands still
// until something wakes it.
BOOST_AUTO_TEST_CASE(reads_thread_activity) {
  auto self = thread_activity(getpid());
  BOOST_REQUIRE(self.ok());
  BOOST_TEST(self->state == 'R');  // reading its own status, it runs
  int fds[2];
  BOOST_REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    char c;
    _exit(read(fds[0], &c, 1) == 1 ? 0 : 1);
  }
  // Until it blocks in the read (it has nothing else to do).
  Result<ThreadActivity> asleep = Error{"not yet"};
  for (int i = 0; i < 1000000; ++i) {
    asleep = thread_activity(child);
    BOOST_REQUIRE(asleep.ok());
    if (asleep->state == 'S') break;
    sched_yield();
  }
  BOOST_REQUIRE(asleep->state == 'S');
  auto again = thread_activity(child);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->state == 'S');
  BOOST_TEST(again->switches == asleep->switches);
  BOOST_REQUIRE(write(fds[1], "x", 1) == 1);
  int status = 0;
  BOOST_REQUIRE(waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(!thread_activity(child).ok());  // gone
  close(fds[0]);
  close(fds[1]);
}
