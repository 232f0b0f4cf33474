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
// CPU idle, and what it has not replayed when the program ends it
// replays then, while `record` waits (bench/README.md has the costs).
#include "cli/RecordCheckpoints.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/Commands.h"

namespace rwd::cli {

Result<std::unique_ptr<CheckpointFollower>> CheckpointFollower::start(
    const std::filesystem::path& trace, double interval, int record_cpu) {
  char interval_s[32];
  snprintf(interval_s, sizeof interval_s, "%.9g", interval);
  const std::string cpu_s = std::to_string(record_cpu);
  const std::string trace_s = trace.string();
  std::vector<const char*> args = {"rewind",      "checkpoint", "create",   trace_s.c_str(),
                                   "--follow",    "--interval", interval_s, "--cpu",
                                   cpu_s.c_str(), nullptr};
  int out[2], pid_pipe[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  ScopedFd out_r(out[0]), out_w(out[1]);
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
      dup2(out_w.get(), STDOUT_FILENO);
      dup2(out_w.get(), STDERR_FILENO);
      execv("/proc/self/exe", const_cast<char* const*>(args.data()));
      _exit(127);
    }
    (void)!write(pid_w.get(), &follower, sizeof follower);
    _exit(follower < 0 ? 1 : 0);
  }
  out_w.reset();
  pid_w.reset();
  int status = 0;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t follower = -1;
  if (read(pid_r.get(), &follower, sizeof follower) != sizeof follower || follower <= 0)
    return Error{"could not start the replay that saves checkpoints while recording"};
  return std::unique_ptr<CheckpointFollower>(new CheckpointFollower(follower, std::move(out_r)));
}

void CheckpointFollower::drain(bool interruptible) {
  std::string pending;
  bool asked_to_stop = false;
  for (;;) {
    pollfd p{out_.get(), POLLIN, 0};
    const int r = poll(&p, 1, -1);
    if (r < 0) {
      // Ctrl-C (record's SIGINT handler does nothing but interrupt us).
      if (errno == EINTR && interruptible && !asked_to_stop) {
        fprintf(stderr, "rewind: stopping the checkpoints; those saved are kept\n");
        kill(pid_, SIGTERM);
        asked_to_stop = true;
      }
      continue;
    }
    char buf[4096];
    const ssize_t n = read(out_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      if (nl) lines_.push_back(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  done_ = true;
}

bool CheckpointFollower::finish() {
  const auto start = std::chrono::steady_clock::now();
  // Quick when the follower kept up: it has the last half second or so of
  // the recording to replay. Say why rewind waits when it takes longer.
  pollfd p{out_.get(), POLLHUP, 0};
  if (poll(&p, 1, 500) == 0)
    fprintf(stderr,
            "rewind: saving checkpoints: the replay is catching up with the recording "
            "(Ctrl-C stops it, keeping those saved)\n");
  drain(true);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Its warnings and errors ("rewind: ..."), then its summary, last.
  bool ok = false;
  for (const std::string& line : lines_) {
    ok = line.find(" checkpoints, ") != std::string::npos;
    if (ok)
      fprintf(stderr, "rewind: %s; done %.1f s after the recording\n", line.c_str(), waited);
    else
      fprintf(stderr, "%s\n", line.c_str());
  }
  return ok;
}

CheckpointFollower::~CheckpointFollower() {
  if (done_) return;
  kill(pid_, SIGTERM);
  drain(false);
}

}  // namespace rwd::cli
