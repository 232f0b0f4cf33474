// Test-only: copies a trace, damaging one thing in the copy the way a
// hostile or broken trace could, with valid blocks and checksums around it,
// so that replay's own checks must catch it. The copy's captured files are
// hard links to the original's.
//
// usage: corrupt_trace SRC_TRACE DST_TRACE WHAT   (DST must not exist)
// WHAT:
//   preempt      the state hash of the initial thread's first preemption
//                event, and its user CPU time set to 0: replay can never
//                find that point, and gives up after its minimum slack
//   buffer-nr    the syscall number of the first buffered syscall record
//                (preload/abi.h): the library meets another syscall than
//                its record says
//   buffer-size  the size of that record, made odd: the records are not
//                well formed
//   buffer-drop  the records of the first event that has any, dropped: the
//                library finds none where the recording had them
//   buffer-nouts the output count of the first record that has outputs,
//                one more: the records are not well formed
//   buffer-addr  where that record's first output goes, address 8: replay's
//                library faults writing it, in the replayed program
//   buffer-header  the same, the thread's buffer header (its pos and end):
//                the library then reads records from where they are not
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "core/trace/TraceReader.h"
#include "core/trace/TraceWriter.h"
#include "preload/abi.h"

namespace fs = std::filesystem;
using namespace rwd;

namespace {

// The offset of the first record of `run` that has outputs, if any.
std::optional<size_t> record_with_outputs(const std::vector<uint8_t>& run) {
  std::optional<size_t> found;
  size_t at = 0;
  syscallbuf::for_each_record(run.data(), run.size(), [&](const syscallbuf::BufRecord& rec) {
    if (!found && rec.nouts > 0 && rec.size >= sizeof rec + sizeof(syscallbuf::OutHead)) found = at;
    at += rec.size;
  });
  return found;
}

// The output damages (buffer-nouts, -addr, -header) of the first record
// with outputs in `ev`; true if it has one. `buffer` is the thread's buffer
// address, for buffer-header.
bool damage_output(trace::Event& ev, const std::string& what, uint64_t buffer) {
  const std::optional<size_t> at = record_with_outputs(ev.syscallbuf);
  if (!at) return false;
  syscallbuf::BufRecord rec;
  syscallbuf::OutHead out;
  uint8_t* p = ev.syscallbuf.data() + *at;
  memcpy(&rec, p, sizeof rec);
  memcpy(&out, p + sizeof rec, sizeof out);
  if (what == "buffer-nouts") ++rec.nouts;
  if (what == "buffer-addr") out.addr = 8;
  if (what == "buffer-header") out.addr = buffer;
  memcpy(p, &rec, sizeof rec);
  memcpy(p + sizeof rec, &out, sizeof out);
  return true;
}

// Damages `ev` as `what` says, if it is the event to damage; true if so.
bool damage(trace::Event& ev, const std::string& what, Tid root, uint64_t buffer) {
  if (what == "preempt") {
    if (ev.kind != trace::EventKind::Preempt || ev.tid != root) return false;
    ev.state_hash[0] ^= 0xff;
    ev.user_time_ms = 0;
    return true;
  }
  if (ev.syscallbuf.size() < sizeof(syscallbuf::BufRecord)) return false;
  if (what == "buffer-nouts" || what == "buffer-addr" || what == "buffer-header")
    return buffer && damage_output(ev, what, buffer);
  syscallbuf::BufRecord rec;
  memcpy(&rec, ev.syscallbuf.data(), sizeof rec);
  if (what == "buffer-nr")
    rec.nr ^= 0x40;
  else if (what == "buffer-size")
    rec.size |= 1;
  else if (what == "buffer-drop")
    ev.syscallbuf.clear();
  else
    return false;
  if (!ev.syscallbuf.empty()) memcpy(ev.syscallbuf.data(), &rec, sizeof rec);
  return true;
}

Result<bool> copy_damaged(const fs::path& src, const fs::path& dst, const std::string& what) {
  auto reader = trace::TraceReader::open(src);
  if (!reader) return reader.error();
  auto writer = trace::TraceWriter::create(dst);
  if (!writer) return writer.error();
  REWIND_TRY((*writer)->write_header((*reader)->header()));
  std::error_code ec;
  fs::create_directories(dst / "files", ec);
  for (const auto& entry : fs::directory_iterator(src / "files", ec)) {
    fs::create_hard_link(entry.path(), dst / "files" / entry.path().filename(), ec);
    if (ec) return Error{"link " + entry.path().string() + ": " + ec.message()};
  }
  for (const trace::MappingRecord& m : (*reader)->mappings())
    REWIND_TRY((*writer)->write_mapping(m));
  Tid root;
  for (const trace::TaskEvent& t : (*reader)->task_events()) {
    if (!root.value) root = t.tid;
    REWIND_TRY((*writer)->write_task_event(t));
  }
  bool damaged = false;
  std::map<int64_t, uint64_t> buffers;  // tid -> its buffer (kSysInitThread's argument)
  for (;;) {
    auto e = (*reader)->next_event();
    if (!e) return e.error();
    if (!*e) break;
    trace::Event ev = std::move(**e);
    if (ev.kind == trace::EventKind::SyscallEntry && ev.syscall_no == syscallbuf::kSysInitThread)
      buffers[ev.tid.value] = ev.regs.rdi;
    if (!damaged) damaged = damage(ev, what, root, buffers[ev.tid.value]);
    REWIND_TRY((*writer)->write_event(ev));
  }
  REWIND_TRY((*writer)->close());
  return damaged;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr,
            "usage: corrupt_trace SRC_TRACE DST_TRACE preempt|buffer-nr|buffer-size|"
            "buffer-drop|buffer-nouts|buffer-addr|buffer-header\n");
    return 2;
  }
  auto r = copy_damaged(argv[1], argv[2], argv[3]);
  if (!r) {
    fprintf(stderr, "corrupt_trace: %s\n", r.error().message.c_str());
    return 1;
  }
  if (!*r) {
    fprintf(stderr, "corrupt_trace: nothing in the trace to damage as %s\n", argv[3]);
    return 1;
  }
  return 0;
}
