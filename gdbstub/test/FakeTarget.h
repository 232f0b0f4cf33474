// A scripted target::Target for the protocol tests: a few threads, a sparse
// memory map, registers per thread, breakpoints recorded in a list, and
// resume() answering from a queue of stops.
#pragma once

#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/api/Target.h"

namespace rwd::gdbstub::test {

class FakeTarget : public target::Target {
 public:
  static constexpr pid_t kPid = 0x100;

  FakeTarget() {
    thread_list = {{kPid, 0x100}, {kPid, 0x101}, {kPid, 0x102}};
    for (const target::ThreadId& t : thread_list) {
      target::RegisterFile r;
      r.gp.rip = 0x401000 + t.tid;
      r.gp.rsp = 0x7ffd0000;
      r.gp.rax = 0x1122334455667788;
      r.gp.eflags = 0x246;
      r.gp.cs = 0x33;
      r.gp.ss = 0x2b;
      r.gp.fs_base = 0x7f0000001000;
      r.gp.orig_rax = static_cast<unsigned long long>(-1);
      r.fp.cwd = 0x37f;
      r.fp.mxcsr = 0x1f80;
      r.has_avx = true;
      regs[t.tid] = r;
    }
    // Code at the threads' pcs.
    map(0x401000, {0x55, 0x48, 0x89, 0xe5, 0xc3, 0x90, 0x90, 0x90, 0xcc, 0x24, 0x23, 0x7d});
    files["/bin/prog"] = std::string(5000, 'E');
  }

  void map(uint64_t addr, std::vector<uint8_t> bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) memory[addr + i] = bytes[i];
  }

  // --- target::Target
  std::vector<target::ThreadId> threads() override { return thread_list; }
  target::ThreadId current_thread() override { return current; }
  Result<std::string> exec_file(pid_t pid) override {
    if (pid != kPid) return Error{"no such process"};
    return std::string("/bin/prog");
  }
  Result<std::vector<uint8_t>> auxv(pid_t) override {
    return std::vector<uint8_t>{6, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0};
  }
  Result<target::RegisterFile> registers(target::ThreadId t) override {
    auto it = regs.find(t.tid);
    if (it == regs.end()) return Error{"no such thread"};
    return it->second;
  }
  Result<void> set_registers(target::ThreadId t, const target::RegisterFile& r) override {
    regs[t.tid] = r;
    return ok_result();
  }
  Result<size_t> read_memory(pid_t, uint64_t addr, void* out, size_t len) override {
    size_t n = 0;
    for (; n < len; ++n) {
      auto it = memory.find(addr + n);
      if (it == memory.end()) break;
      static_cast<uint8_t*>(out)[n] = it->second;
    }
    return n;
  }
  Result<void> write_memory(pid_t, uint64_t addr, const void* in, size_t len) override {
    for (size_t i = 0; i < len; ++i) memory[addr + i] = static_cast<const uint8_t*>(in)[i];
    return ok_result();
  }
  struct BreakpointCall {
    bool add;
    target::BreakpointType type;
    uint64_t addr;
    size_t len;
    bool operator==(const BreakpointCall&) const = default;
  };
  Result<void> add_breakpoint(target::BreakpointType type, uint64_t addr, size_t len) override {
    breakpoint_calls.push_back({true, type, addr, len});
    return ok_result();
  }
  Result<void> remove_breakpoint(target::BreakpointType type, uint64_t addr, size_t len) override {
    breakpoint_calls.push_back({false, type, addr, len});
    return ok_result();
  }
  Result<target::StopInfo> resume(const target::ResumeRequest& req) override {
    std::unique_lock lock(mutex);
    resumes.push_back(req);
    if (block_in_resume) {
      entered_resume = true;
      cv.notify_all();
      cv.wait(lock, [&] { return interrupted; });
    }
    if (interrupted) {
      interrupted = false;
      target::StopInfo s;
      s.kind = target::StopKind::Interrupted;
      s.thread = current;
      return s;
    }
    if (stops.empty()) return Error{"no more scripted stops"};
    target::StopInfo s = stops.front();
    stops.pop_front();
    current = s.thread;
    return s;
  }
  void interrupt() override {
    std::lock_guard lock(mutex);
    interrupted = true;
    cv.notify_all();
  }
  Result<target::StopInfo> restart() override {
    ++restarts;
    target::StopInfo s;
    s.kind = target::StopKind::Signal;
    s.signo = 5;
    s.thread = thread_list[0];
    return s;
  }
  Result<std::vector<uint8_t>> read_recorded_file(const std::string& path, uint64_t offset,
                                                  size_t len) override {
    auto it = files.find(path);
    if (it == files.end()) return Error{"not recorded"};
    if (offset >= it->second.size()) return std::vector<uint8_t>{};
    std::string part = it->second.substr(offset, len);
    return std::vector<uint8_t>(part.begin(), part.end());
  }
  Result<uint64_t> recorded_file_size(const std::string& path) override {
    if (path.starts_with("/usr/lib/debug/")) return Error{"outside the debug directory", EACCES};
    auto it = files.find(path);
    if (it == files.end()) return Error{"not recorded", ENOENT};
    return it->second.size();
  }
  uint64_t current_event() override { return event; }
  std::vector<std::pair<std::string, std::string>> recorded_file_copies() override {
    return {{"/bin/prog", "/trace/files/prog"}};
  }
  Result<target::StopInfo> reverse_line_step(const target::LineStepRequest& req) override {
    line_steps.push_back(req);
    target::StopInfo s;
    s.kind = target::StopKind::Step;
    s.signo = 5;
    s.thread = req.thread;
    return s;
  }
  std::vector<target::LineStepRequest> line_steps;
  Result<target::StopInfo> seek(uint64_t e) override {
    event = e;
    target::StopInfo s;
    s.thread = current;
    s.signo = 5;
    return s;
  }
  Result<int> checkpoint() override {
    int id = static_cast<int>(checkpoint_list.size()) + 1;
    checkpoint_list.push_back({id, event, "event " + std::to_string(event) + ", pc 0x401100"});
    return id;
  }
  Result<target::StopInfo> restart_checkpoint(int id) override {
    for (auto& c : checkpoint_list)
      if (c.id == id) return seek(c.event);
    return Error{"no such checkpoint"};
  }
  std::vector<target::CheckpointInfo> checkpoints() override { return checkpoint_list; }

  // --- scripted state, public for the tests
  std::vector<target::ThreadId> thread_list;
  target::ThreadId current{kPid, 0x100};
  std::map<pid_t, target::RegisterFile> regs;
  std::map<uint64_t, uint8_t> memory;
  std::map<std::string, std::string> files;
  std::vector<BreakpointCall> breakpoint_calls;
  std::deque<target::StopInfo> stops;
  std::vector<target::ResumeRequest> resumes;
  std::vector<target::CheckpointInfo> checkpoint_list;
  uint64_t event = 42;
  int restarts = 0;

  // For the real-socket interrupt test: resume() waits for interrupt().
  std::mutex mutex;
  std::condition_variable cv;
  bool block_in_resume = false;
  bool entered_resume = false;
  bool interrupted = false;
};

}  // namespace rwd::gdbstub::test
