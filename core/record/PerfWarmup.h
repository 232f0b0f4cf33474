// Keeps the kernel's perf scheduling hooks switched on while a recording
// runs, so that each tracee's desched event (preload/abi.h) opens in
// ~0.05 ms instead of 5–30 ms.
//
// The first task-bound perf event on the machine flips a static key
// (perf_sched_events), which patches kernel text on every CPU; the last one
// to close flips it back about a second later. On our VMs the flip cost a
// recording of a 30 ms program 8 ms, and every process of a build paid it
// again whenever none was open. The recorder therefore opens one disabled
// software event of its own, from a short-lived thread so that the flip
// overlaps with starting the program, and holds its fd until the recording
// ends. (The event outlives the thread: it is counted until its fd closes,
// and, disabled and bound to a thread that is gone, it costs nothing at any
// context switch.)
#pragma once

#include <thread>

#include "core/base/Fd.h"

namespace rwd {

class PerfWarmup {
 public:
  PerfWarmup() = default;
  PerfWarmup(const PerfWarmup&) = delete;
  PerfWarmup& operator=(const PerfWarmup&) = delete;
  ~PerfWarmup();

  // Starts the thread; best effort (a kernel without perf events, or one
  // that refuses them, only makes desched events slower, or absent).
  void start();

 private:
  std::thread thread_;
  ScopedFd event_;  // written by thread_, read only after joining it
};

}  // namespace rwd
