// Checkpoints of threaded replays: records real pthread programs, takes a
// checkpoint every few events of a replay (threads waiting in futex, a
// forked child with a thread of its own), restores each one and replays it
// to the end. Each restored run must replay without divergence (replay
// compares registers at every event), reach the same exit status and print
// what the recording printed.
//
// usage (from ctest): checkpoint_test -- REWIND_BINARY THREADS_PROGRAM_DIR
#define BOOST_TEST_MODULE replay_checkpoint
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"

using namespace rwd;

namespace {

// REWIND_LOG=replay,... works here as it does for the rewind command.
struct LogFromEnv {
  LogFromEnv() { parse_log_env(); }
};
BOOST_TEST_GLOBAL_FIXTURE(LogFromEnv);

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The program's stdout, as replay re-emits it (ReplayOptions::emit_output),
// goes to a file while this lives.
class CaptureStdout {
 public:
  explicit CaptureStdout(const std::filesystem::path& file) : path_(file) {
    fflush(stdout);
    saved_ = dup(1);
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    BOOST_REQUIRE(saved_ >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
  }
  ~CaptureStdout() {
    fflush(stdout);
    dup2(saved_, 1);
    close(saved_);
  }
  // What was written so far.
  std::string text() const { return slurp(path_); }

 private:
  std::filesystem::path path_;
  int saved_ = -1;
};

struct Recording {
  std::filesystem::path dir;
  std::string output;
  int exit_code = 0;

  explicit Recording(const std::string& prog) {
    auto& argv = boost::unit_test::framework::master_test_suite().argv;
    BOOST_REQUIRE_EQUAL(boost::unit_test::framework::master_test_suite().argc, 3);
    char tmpl[] = "/tmp/rewind-checkpoint-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl));
    dir = tmpl;
    std::string cmd = std::string(argv[1]) + " record -o " + (dir / "trace").string() + " " +
                      argv[2] + "/" + prog + " > " + (dir / "out").string();
    int st = std::system(cmd.c_str());
    BOOST_REQUIRE(WIFEXITED(st));
    exit_code = WEXITSTATUS(st);
    output = slurp(dir / "out");
  }
  ~Recording() { std::filesystem::remove_all(dir); }
};

// What a checkpoint froze, seen from the session it was taken of.
struct Taken {
  std::shared_ptr<const SessionCheckpoint> cp;
  size_t output_before = 0;  // bytes of stdout replayed before it
  size_t processes = 0, threads = 0, waiting = 0;
  bool threaded = false;  // some process had more than one thread
};

Taken describe(ReplaySession& s) {
  Taken k;
  std::vector<Tid> tids{s.root()};
  for (const auto& te : s.reader().task_events())
    if (te.kind == trace::TaskEventKind::Clone) tids.push_back(te.tid);
  std::map<pid_t, int> per_process;
  for (Tid tid : tids) {
    RepTask* t = s.find(tid);
    if (!t) continue;
    ++k.threads;
    // Inside a syscall, or in a hand-off of the baton: stopped inside the
    // preload library's futex wait (ReplayPool.cc).
    if (t->in_syscall || t->in_pool) ++k.waiting;
    if (++per_process[t->rec_tgid.value] > 1) k.threaded = true;
  }
  k.processes = per_process.size();
  return k;
}

struct Summary {
  size_t checkpoints = 0, threaded = 0, threaded_waiting = 0, multi_process_threaded = 0;
  double checkpoint_ms = 0, restore_ms = 0;  // in all, for threaded processes
  size_t restores = 0;                       // of threaded processes
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Events in `prog`'s replay.
uint64_t count_events(const Recording& rec) {
  ReplayOptions opts;
  opts.emit_output = false;
  auto s = ReplaySession::open(rec.dir / "trace", opts);
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  uint64_t n = 0;
  for (;; ++n) {
    auto more = (*s)->step();
    BOOST_REQUIRE_MESSAGE(more.ok(), (more.ok() ? "" : more.error().message));
    if (!*more) return n;
  }
}

// What a replay printed and how it ended; `error` if it failed.
struct Outcome {
  std::string output, error;
  std::optional<int> status;
};

// Replays `prog`'s recording, checkpointing at about `wanted` evenly spread
// event counts where the session allows, then restores every checkpoint and
// replays it to the end. (The program's stdout is captured meanwhile, so
// the checks come after.)
Summary check_program(const std::string& prog, uint64_t wanted) {
  BOOST_TEST_MESSAGE("program " << prog);
  Recording rec(prog);
  const uint64_t events = count_events(rec);
  const uint64_t every = std::max<uint64_t>(1, events / wanted);
  ReplayOptions opts;
  std::vector<Taken> taken;
  Outcome first;
  double checkpoint_ms = 0;
  {
    CaptureStdout out(rec.dir / "replay-out");
    auto s = ReplaySession::open(rec.dir / "trace", opts);
    if (!s) first.error = s.error().message;
    for (uint64_t n = 0; s && first.error.empty(); ++n) {
      // Where checkpoints are refused, try each next event until one is
      // allowed.
      const bool due = taken.empty() || n >= taken.back().cp->events_completed() + every;
      if (due && (*s)->can_checkpoint()) {
        Taken k = describe(**s);
        k.output_before = out.text().size();
        const auto t0 = std::chrono::steady_clock::now();
        auto cp = (*s)->checkpoint();
        if (k.threaded) checkpoint_ms += ms_since(t0);
        if (!cp) {
          first.error = "checkpoint at " + std::to_string(n) + ": " + cp.error().message;
          break;
        }
        k.cp = *cp;
        taken.push_back(std::move(k));
      }
      auto more = (*s)->step();
      if (!more) first.error = more.error().message;
      if (!more || !*more) break;
    }
    first.output = out.text();
    if (s) first.status = (*s)->root_status();
  }
  // Taking checkpoints left the session itself replaying as recorded.
  BOOST_REQUIRE_MESSAGE(first.error.empty(), prog << ": " << first.error);
  BOOST_TEST(first.output == rec.output);
  BOOST_REQUIRE(first.status);
  BOOST_TEST(WEXITSTATUS(*first.status) == rec.exit_code);

  Summary sum;
  sum.checkpoint_ms = checkpoint_ms;
  for (size_t i = 0; i < taken.size(); ++i) {
    const Taken& k = taken[i];
    sum.checkpoints++;
    if (k.threaded) sum.threaded++;
    if (k.threaded && k.waiting > 0) sum.threaded_waiting++;
    if (k.threaded && k.processes > 1) sum.multi_process_threaded++;
    // Once for every checkpoint, twice for one: a checkpoint stays usable.
    for (int round = 0; round < (i == taken.size() / 2 ? 2 : 1); ++round) {
      Outcome o;
      {
        CaptureStdout out(rec.dir / "restored-out");
        const auto t0 = std::chrono::steady_clock::now();
        auto r = ReplaySession::restore(*k.cp);
        if (k.threaded) {
          sum.restore_ms += ms_since(t0);
          sum.restores++;
        }
        if (!r) {
          o.error = "restoring: " + r.error().message;
        } else if ((*r)->events_completed() != k.cp->events_completed()) {
          o.error = "restored at another event count";
        } else {
          auto status = (*r)->run_to_end();
          if (status)
            o.status = *status;
          else
            o.error = status.error().message;
        }
        o.output = out.text();
      }
      const std::string where =
          prog + ": restored at " + std::to_string(k.cp->events_completed()) + " events";
      BOOST_REQUIRE_MESSAGE(o.error.empty(), where << ": " << o.error);
      BOOST_REQUIRE_MESSAGE(o.status, where << ": no exit status");
      BOOST_TEST(WEXITSTATUS(*o.status) == rec.exit_code, where);
      BOOST_TEST(rec.output.substr(0, k.output_before) + o.output == rec.output, where);
    }
  }
  BOOST_TEST_MESSAGE(
      prog << ": " << events << " events, " << sum.checkpoints << " checkpoints, " << sum.threaded
           << " threaded, " << sum.threaded_waiting
           << " with threads waiting (a syscall, a hand-off), " << sum.multi_process_threaded
           << " of threaded process trees; per threaded checkpoint "
           << (sum.threaded ? sum.checkpoint_ms / sum.threaded : 0) << " ms, restore "
           << (sum.restores ? sum.restore_ms / sum.restores : 0) << " ms");
  return sum;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mutex_counter) {
  Summary s = check_program("mutex_counter", 20);
  BOOST_TEST(s.threaded_waiting >= 3);
}

// Its 40,000 hand-offs go through the baton (ReplayPool.cc): a few hundred
// events, most of them with a thread waiting in a hand-off.
BOOST_AUTO_TEST_CASE(condvar_pingpong) {
  Summary s = check_program("condvar_pingpong", 20);
  BOOST_TEST(s.threaded_waiting >= 2);
}

BOOST_AUTO_TEST_CASE(barrier_phases) {
  Summary s = check_program("barrier_phases", 20);
  BOOST_TEST(s.threaded_waiting >= 3);
}

BOOST_AUTO_TEST_CASE(detached_threads) {
  Summary s = check_program("detached_threads", 20);
  BOOST_TEST(s.threaded >= 3);
}

// A process tree with threads: workers wait on a condvar while main forks a
// child that starts a thread of its own.
BOOST_AUTO_TEST_CASE(fork_multithreaded) {
  Summary s = check_program("fork_multithreaded", 20);
  BOOST_TEST(s.threaded_waiting >= 3);
  BOOST_TEST(s.multi_process_threaded >= 1);
}
