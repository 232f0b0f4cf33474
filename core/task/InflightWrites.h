// Memory a syscall may write while it is in progress. The kernel stores a
// syscall's outputs before its exit stop, so while one thread sits in a
// blocking call (poll, read, futex...), its results may appear in memory at
// any moment: before the recorder has seen that exit, and so before the
// exit's event in the trace. Replay writes them only at that event. A state
// hash of another thread of the process (StateHash.h) must leave those bytes
// out, or it differs between recording and replay by chance.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <vector>

#include "core/syscalls/SyscallTable.h"
#include "core/task/Task.h"
#include "preload/abi.h"

namespace rwd {

// Reads tracee memory for the syscall table's output handlers.
class TaskMemoryReader : public sys::TraceeMemoryReader {
 public:
  explicit TaskMemoryReader(const Task& t) : t_(t) {}
  Result<void> read(uint64_t addr, void* buf, size_t len) override {
    return t_.read_mem(RemotePtr(addr), buf, len);
  }

 private:
  const Task& t_;
};

// What syscall `nr`, entered with registers `entry`, may write before it
// returns (sys::possible_outputs), sorted and merged. Read at the entry
// stop, where recording and replay see the same memory. For restart_syscall
// pass the interrupted call's number and entry registers.
std::vector<sys::OutRange> inflight_writes(const Task& task, int64_t nr,
                                           const user_regs_struct& entry);

// Adds `more` to the sorted, merged set `into`, keeping it so.
void merge_ranges(std::vector<sys::OutRange>& into, const std::vector<sys::OutRange>& more);

// The memory that syscalls in progress in t's sibling threads (the other
// tasks of `tasks`, a map of tid -> unique_ptr to the recorder's or
// replayer's per-task state, that share t's address space) may write at any
// moment: a state hash of t leaves it out. Recorder and replayer compute it
// from the same entries at the same event.
//
// Also the frames of the preload library (preload/abi.h) on the stacks of
// siblings stopped in, or at the exit of, a syscall it made: the library
// takes other paths in record and in replay, so its locals differ. They lie
// just above the syscall's rsp, and what its deeper calls (record's fstat
// and perf event) left lies just below.
template <class TaskMap, class T>
std::vector<sys::OutRange> siblings_inflight_writes(const TaskMap& tasks, const T& t) {
  constexpr uint64_t kPreloadFrames = 1024;
  constexpr uint64_t kPreloadDead = 2048;  // what its deeper calls left below
  std::vector<sys::OutRange> out;
  const auto& text = t.task->as().preload_text;
  for (const auto& [tid, o] : tasks) {
    if (o.get() == &t || &o->task->as() != &t.task->as()) continue;
    if (o->in_syscall) merge_ranges(out, o->inflight_writes);
    // In a syscall the library made, or parked at its exit: either way the
    // library's frames are live above that rsp.
    const uint64_t ip = o->entry_regs.rip;
    if (ip == syscallbuf::kUntracedSyscallInsn + 2 || (ip >= text.first && ip < text.second))
      merge_ranges(out, {{o->entry_regs.rsp - kPreloadDead, kPreloadDead + kPreloadFrames}});
  }
  return out;
}

// The syscall buffers (preload/abi.h) of the tasks that share t's memory:
// state hashes leave them out, since replay fills them ahead of the library.
template <class TaskMap, class T>
std::vector<sys::OutRange> syscall_buffers(const TaskMap& tasks, const T& t) {
  std::vector<sys::OutRange> out;
  for (const auto& [tid, o] : tasks)
    if (o->syscallbuf && &o->task->as() == &t.task->as())
      merge_ranges(out, {{o->syscallbuf, syscallbuf::kBufferSize}});
  return out;
}

}  // namespace rwd
