// A Target that may be called from any thread: it owns a TracerThread and
// an inner target created, used and destroyed only on that thread.
#pragma once

#include <memory>

#include "core/api/Target.h"
#include "core/replay/TracerThread.h"

namespace rwd {

template <class Inner>
class ConfinedTarget : public target::Target {
 public:
  // `make` runs on the tracer thread and returns Result<unique_ptr<Inner>>.
  template <class Make>
  static Result<std::unique_ptr<ConfinedTarget>> create(Make&& make) {
    std::unique_ptr<ConfinedTarget> c(new ConfinedTarget());
    auto inner = c->tracer_.run(std::forward<Make>(make));
    if (!inner) return inner.error();
    c->inner_ = std::move(*inner);
    return c;
  }
  ~ConfinedTarget() override {
    tracer_.run([this] { inner_.reset(); });
  }

  // Runs f(inner) on the tracer thread.
  template <class F>
  auto with_inner(F&& f) {
    return tracer_.run([&] { return f(*inner_); });
  }

  std::vector<target::ThreadId> threads() override { return call(&Inner::threads); }
  target::ThreadId current_thread() override { return call(&Inner::current_thread); }
  Result<std::string> exec_file(pid_t pid) override { return call(&Inner::exec_file, pid); }
  Result<std::vector<uint8_t>> auxv(pid_t pid) override { return call(&Inner::auxv, pid); }
  Result<target::RegisterFile> registers(target::ThreadId t) override {
    return call(&Inner::registers, t);
  }
  Result<void> set_registers(target::ThreadId t, const target::RegisterFile& r) override {
    return call(&Inner::set_registers, t, r);
  }
  Result<size_t> read_memory(pid_t pid, uint64_t addr, void* out, size_t len) override {
    return call(&Inner::read_memory, pid, addr, out, len);
  }
  Result<void> write_memory(pid_t pid, uint64_t addr, const void* in, size_t len) override {
    return call(&Inner::write_memory, pid, addr, in, len);
  }
  Result<void> add_breakpoint(target::BreakpointType type, uint64_t addr, size_t len) override {
    return call(&Inner::add_breakpoint, type, addr, len);
  }
  Result<void> remove_breakpoint(target::BreakpointType type, uint64_t addr, size_t len) override {
    return call(&Inner::remove_breakpoint, type, addr, len);
  }
  Result<target::StopInfo> resume(const target::ResumeRequest& req) override {
    return call(&Inner::resume, req);
  }
  // Only sets a flag the running resume() polls: safe from any thread, and
  // must not queue behind that resume().
  void interrupt() override { inner_->interrupt(); }
  Result<target::StopInfo> restart() override { return call(&Inner::restart); }
  Result<target::StopInfo> reverse_line_step(const target::LineStepRequest& req) override {
    return call(&Inner::reverse_line_step, req);
  }
  Result<std::vector<uint8_t>> read_recorded_file(const std::string& path, uint64_t offset,
                                                  size_t len) override {
    return call(&Inner::read_recorded_file, path, offset, len);
  }
  Result<uint64_t> recorded_file_size(const std::string& path) override {
    return call(&Inner::recorded_file_size, path);
  }
  std::vector<std::pair<std::string, std::string>> recorded_file_copies() override {
    return call(&Inner::recorded_file_copies);
  }
  uint64_t current_event() override { return call(&Inner::current_event); }
  Result<target::StopInfo> seek(uint64_t event) override { return call(&Inner::seek, event); }
  Result<int> checkpoint() override { return call(&Inner::checkpoint); }
  Result<target::StopInfo> restart_checkpoint(int id) override {
    return call(&Inner::restart_checkpoint, id);
  }
  std::vector<target::CheckpointInfo> checkpoints() override { return call(&Inner::checkpoints); }

 private:
  ConfinedTarget() = default;
  template <class M, class... A>
  auto call(M method, A&&... args) {
    return tracer_.run([&] { return ((*inner_).*method)(std::forward<A>(args)...); });
  }

  TracerThread tracer_;
  std::unique_ptr<Inner> inner_;
};

}  // namespace rwd
