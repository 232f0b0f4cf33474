// rewind checkpoint create (Checkpoints.h): replays a trace once, saving
// persistent checkpoints as it goes. With Follow::Yes (checkpoint create
// --follow, which record --checkpoint-interval starts,
// RecordCheckpoints.cc) it replays a trace still being recorded, keeping
// up with the recorder until it finishes.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "core/api/Checkpoints.h"
#include "core/api/internal/OpenStore.h"
#include "core/base/Log.h"
#include "core/base/Units.h"
#include "core/replay/ReplaySession.h"

namespace rwd::api {

namespace {

// Events in the trace and the recorded time of the last one, from a pass
// over the events stream (fast: no replay).
Result<std::pair<uint64_t, uint64_t>> trace_extent(const trace::TraceReader& reader) {
  auto r = reader.clone();
  if (!r) return r.error();
  uint64_t n = 0, last_ns = 0;
  for (;;) {
    auto e = (*r)->next_event();
    if (!e) return e.error();
    if (!*e) break;
    ++n;
    last_ns = (*e)->time_ns;
  }
  return std::make_pair(n, last_ns);
}

// A progress bar on a terminal: "[#####.....] 1234/5678 events, 3.1 s, ~4.0 s left".
class Progress {
 public:
  Progress(uint64_t total, bool enabled) : total_(total), tty_(enabled && isatty(STDERR_FILENO)) {}
  bool tty() const { return tty_; }
  void update(uint64_t done, bool force = false) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double frac = total_ ? double(done) / double(total_) : 1.0;
    constexpr int kWidth = 30;
    std::string bar(kWidth, '.');
    for (int i = 0; i < int(frac * kWidth) && i < kWidth; ++i) bar[i] = '#';
    std::string left = frac > 0.01 ? ", ~" + seconds(elapsed / frac - elapsed) + " left" : "";
    fprintf(stderr, "\r[%s] %llu/%llu events, %s%s   ", bar.c_str(), (unsigned long long)done,
            (unsigned long long)total_, seconds(elapsed).c_str(), left.c_str());
    fflush(stderr);
  }
  void clear_line() {
    if (tty_) fprintf(stderr, "\r\033[K");
  }
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  uint64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

// Set by SIGTERM: the recording's rewind no longer wants a follower's
// checkpoints (its user pressed Ctrl-C while it waited). The follower stops
// between events, so its replay's tracees are killed and what it saved
// stays.
volatile sig_atomic_t g_stop = 0;

// A follower stops cleanly on SIGTERM (record's Ctrl-C, or `kill` once it
// goes on in the background), and outlives the terminal record ran in:
// SIGHUP is caught and ignored (not SIG_IGN, which the replayed programs
// would inherit through exec).
void stop_on_sigterm() {
  struct sigaction sa = {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup = {};
  hup.sa_handler = [](int) {};
  sigaction(SIGHUP, &hup, nullptr);
}

// The recorder writes its streams out every TraceWriter::kFlushInterval;
// a follower at the end of what is written looks again this often.
constexpr std::chrono::milliseconds kFollowPoll{100};

// Whether a follower's replay has more to do, once step() returned false:
// it waits for the recorder to write more, and says false once the
// recording has finished and all of it is replayed.
Result<bool> wait_for_more(ReplaySession& s) {
  for (;;) {
    auto grew = s.catch_up_with_recording();
    if (!grew) return grew.error();
    if (*grew) return true;
    if (!s.trace_end() || !s.trace_end()->still_recording || g_stop) return false;
    std::this_thread::sleep_for(kFollowPoll);
  }
}

struct Made {
  std::vector<uint64_t> events;  // where checkpoints were saved
  uint64_t bytes = 0;
};

// Replays `s` to its end, saving a checkpoint whenever one is due.
Result<Made> replay_saving(ReplaySession& s, trace::CheckpointStore& store,
                           const CheckpointCreateRequest& o, uint64_t total, Progress& progress) {
  Made made;
  uint64_t last_events = 0, last_time = 0;
  const uint64_t interval_ns = static_cast<uint64_t>(o.interval * 1e9);
  for (;;) {
    if (g_stop) break;
    auto more = s.step();
    if (!more) return more.error();
    if (!*more) {
      if (o.follow == Follow::No) break;
      auto again = wait_for_more(s);
      if (!again) return again.error();
      if (!*again) break;
      continue;
    }
    const uint64_t events = s.events_completed();
    progress.update(events);
    const bool due =
        o.every ? events >= last_events + o.every : s.recorded_time_ns() >= last_time + interval_ns;
    // (Not at the last event: there is nothing left to replay from it.)
    if (!due || (o.follow == Follow::No && events >= total) || !s.can_persist()) continue;
    auto info = s.persist(store);
    if (!info)
      return info.error().context("saving the checkpoint at event " + std::to_string(events));
    last_events = events;
    last_time = s.recorded_time_ns();
    made.events.push_back(events);
    made.bytes += info->meta_bytes + info->pack_bytes;
    // (A follower prints only its summary, which record shows.)
    if (!progress.tty() && o.follow == Follow::No) {
      printf("checkpoint at event %llu (%s into the recording): %s\n", (unsigned long long)events,
             seconds(last_time / 1e9).c_str(),
             human_bytes(info->meta_bytes + info->pack_bytes).c_str());
      fflush(stdout);
    }
  }
  return made;
}

}  // namespace

Result<CheckpointsMade> create_checkpoints(CheckpointCreateRequest o) {
  const bool follow = o.follow == Follow::Yes;
  auto opened = internal::open_store(o.trace_arg, internal::StoreAccess::Write);
  if (!opened) return opened.error();
  const auto& end = opened->reader->incomplete();
  if (end && !follow) warn("%s", trace::describe(*end).c_str());
  uint64_t total = 0, last_ns = 0;
  if (!follow) {
    auto extent = trace_extent(*opened->reader);
    if (!extent) return extent.error();
    std::tie(total, last_ns) = *extent;
  }
  if (!o.every && !o.interval) {
    if (last_ns || follow) {
      o.interval = 1.0;
    } else {
      // A trace from before events carried their time: about 60 of them.
      o.every = std::max<uint64_t>(total / 60, 1000);
      warn("the trace's events carry no time; a checkpoint every %llu events",
           (unsigned long long)o.every);
    }
  }
  if (follow) stop_on_sigterm();
  auto reader = opened->reader->clone();
  if (!reader) return reader.error();
  auto s = ReplaySession::open(std::move(*reader),
                               rwd::ReplayOptions{.emit_output = false, .cpu = o.cpu});
  if (!s) return s.error();
  Progress progress(total, !follow);
  auto made = replay_saving(**s, *opened->store, o, total, progress);
  progress.clear_line();
  if (!made) {
    if (!follow) return made.error();
    // A follower that could not keep up with the recording leaves no
    // checkpoint that might be wrong (the trace is new: each one is its).
    for (const trace::CheckpointInfo& c : opened->store->list())
      (void)opened->store->remove(c.events);
    return made.error().context(
        "no checkpoints were saved while recording (make them with `rewind checkpoint create` "
        "now that the recording is done)");
  }
  progress.update(total, true);
  progress.clear_line();
  return CheckpointsMade{made->events.size(), made->bytes, progress.elapsed(), g_stop != 0};
}

}  // namespace rwd::api
