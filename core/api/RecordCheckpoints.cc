// rewind record --checkpoint-interval (RecordCheckpoints.h).
//
// Why a replay that follows the recording, and not forks of the recorded
// processes: a checkpoint holds replay's state (its threads standing where
// replay stands them at an event, the syscall buffers as replay fills
// them, none of the recorder's scratch memory), which the recording's
// processes are not in. A fork of them would need translating into that
// state, and nothing would check the translation. The follower is the
// replay `checkpoint create` runs, reading the trace as the recorder
// writes it out (TraceReader::catch_up), so its checkpoints are the ones a
// later `checkpoint create` would save, and `replay -a --jobs` verifies
// them.
//
// It replays on the recording's CPU: CPUID answers differ between CPUs
// (the APIC id in leaf 1) and ld.so keeps them in memory, so a replay on
// another CPU saves other bytes than a replay of the finished trace would
// (and CPUID faulting, which would hide the difference, is not used yet).
// So it runs at SCHED_IDLE priority, in the time the recording leaves that
// CPU idle, and what it has not replayed when the program ends it replays
// then: in the background once `record` has returned, or while `record`
// waits with --checkpoint-wait (bench/README.md has the costs). Replay
// can start meanwhile: it uses the checkpoints saved so far.
#include "core/api/internal/RecordCheckpoints.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/syscall.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace rwd::api {

namespace {
constexpr const char* kLogName = "follow.log";  // in TRACE/checkpoints
// How long `record` waits for the follower once the program has ended,
// before it leaves it to finish alone: not at all. Even one that kept up
// has the last half second of the recording to replay, and a second's
// grace cost a 1.4 s python3 run 1.78x in bench/checkpoint_bench.sh.
constexpr int kKeptUpMs = 0;
}  // namespace

Result<std::unique_ptr<CheckpointFollower>> CheckpointFollower::start(
    const std::filesystem::path& trace, double interval, int record_cpu) {
  char interval_s[32];
  snprintf(interval_s, sizeof interval_s, "%.9g", interval);
  const std::string cpu_s = std::to_string(record_cpu);
  const std::string trace_s = trace.string();
  std::vector<const char*> args = {"rewind",      "checkpoint", "create",   trace_s.c_str(),
                                   "--follow",    "--interval", interval_s, "--cpu",
                                   cpu_s.c_str(), nullptr};
  const std::filesystem::path dir = trace / "checkpoints";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error::from_errno("mkdir " + dir.string());
  const std::string log_path = (dir / kLogName).string();
  ScopedFd log(
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!log.is_open()) return Error::from_errno(log_path);
  ScopedFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null.is_open()) return Error::from_errno("/dev/null");
  int pid_pipe[2];
  if (pipe2(pid_pipe, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  ScopedFd pid_r(pid_pipe[0]), pid_w(pid_pipe[1]);

  const pid_t middle = fork();
  if (middle < 0) return Error::from_errno("fork");
  if (middle == 0) {
    // Only async-signal-safe calls from here to the execve.
    const pid_t follower = fork();
    if (follower == 0) {
      // A process group of its own keeps the terminal's Ctrl-C from it
      // (the recorded program gets that); not a session of its own, which
      // would put it in a scheduler autogroup of its own, with as much
      // CPU as the recording's whatever its policy.
      setpgid(0, 0);
      const sched_param idle{};
      sched_setscheduler(0, SCHED_IDLE, &idle);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      dup2(null.get(), STDIN_FILENO);
      dup2(log.get(), STDOUT_FILENO);
      dup2(log.get(), STDERR_FILENO);
      execv("/proc/self/exe", const_cast<char* const*>(args.data()));
      _exit(127);
    }
    (void)!write(pid_w.get(), &follower, sizeof follower);
    _exit(follower < 0 ? 1 : 0);
  }
  pid_w.reset();
  int status = 0;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t follower = -1;
  if (read(pid_r.get(), &follower, sizeof follower) != sizeof follower || follower <= 0)
    return Error{"could not start the replay that saves checkpoints while recording"};
  // It is alive (it cannot be reaped before it is waited for, by init
  // now), so the pid names it.
  ScopedFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, follower, 0)));
  if (!pidfd.is_open()) {
    kill(follower, SIGTERM);
    return Error::from_errno("pidfd_open");
  }
  return std::unique_ptr<CheckpointFollower>(
      new CheckpointFollower(follower, std::move(pidfd), trace));
}

bool CheckpointFollower::wait_exit(int timeout_ms, bool interruptible) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool asked_to_stop = false;
  for (;;) {
    int left = -1;
    if (timeout_ms >= 0) {
      left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  until - std::chrono::steady_clock::now())
                                  .count());
      if (left < 0) left = 0;
    }
    pollfd p{pidfd_.get(), POLLIN, 0};
    const int r = poll(&p, 1, left);
    if (r > 0) return done_ = true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
    // Ctrl-C (record's SIGINT handler does nothing but interrupt us).
    if (interruptible && !asked_to_stop) {
      fprintf(stderr, "rewind: stopping the checkpoints; those saved are kept\n");
      kill(pid_, SIGTERM);
      asked_to_stop = true;
    }
  }
}

bool CheckpointFollower::report(double waited) const {
  // Its warnings and errors ("rewind: ..."), then its summary, last.
  std::ifstream in(trace_ / "checkpoints" / kLogName);
  bool ok = false;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    // "N checkpoint(s), SIZE, in T" (create_checkpoints).
    size_t digits = 0;
    while (digits < line.size() && isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
    ok = digits > 0 && (line.compare(digits, 14, " checkpoints, ") == 0 ||
                        line.compare(digits, 13, " checkpoint, ") == 0);
    if (ok)
      fprintf(stderr, "rewind: %s; done %.1f s after the recording\n", line.c_str(), waited);
    else
      fprintf(stderr, "%s\n", line.c_str());
  }
  return ok;
}

bool CheckpointFollower::finish(bool wait) {
  const auto start = std::chrono::steady_clock::now();
  auto waited = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // (With --checkpoint-wait, half a second before saying why it waits.)
  if (wait_exit(wait ? 500 : kKeptUpMs, wait)) return report(waited());
  if (!wait) {
    detached_ = true;
    // Counted by name (cp-EVENT.meta): opening the trace to list them would
    // read its events, which costs on a long recording.
    size_t saved = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(trace_ / "checkpoints", ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      saved += name.starts_with("cp-") && name.ends_with(".meta");
    }
    fprintf(stderr,
            "rewind: %zu checkpoint%s saved so far; the replay saving them goes on in the "
            "background (pid %d, log %s), and replay can start meanwhile\n",
            saved, saved == 1 ? "" : "s", pid_, (trace_ / "checkpoints" / kLogName).c_str());
    return true;
  }
  fprintf(stderr,
          "rewind: saving checkpoints: the replay is catching up with the recording "
          "(Ctrl-C stops it, keeping those saved)\n");
  wait_exit(-1, true);
  return report(waited());
}

CheckpointFollower::~CheckpointFollower() {
  if (done_ || detached_) return;
  kill(pid_, SIGTERM);
  wait_exit(-1, false);
}

}  // namespace rwd::api
