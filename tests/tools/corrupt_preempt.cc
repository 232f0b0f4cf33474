// Test-only: copies a trace, changing the state hash of the first preemption
// event of the initial thread, so replay can never find that point, and
// setting its recorded user CPU time to 0, so replay gives up after its
// minimum slack. The copy's captured files are hard links to the original's.
//
// usage: corrupt_preempt SRC_TRACE DST_TRACE   (DST must not exist)
#include <cstdio>
#include <filesystem>

#include "core/trace/TraceReader.h"
#include "core/trace/TraceWriter.h"

namespace fs = std::filesystem;
using namespace rwd;

static Result<bool> copy_corrupted(const fs::path& src, const fs::path& dst) {
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
  bool corrupted = false;
  for (;;) {
    auto e = (*reader)->next_event();
    if (!e) return e.error();
    if (!*e) break;
    trace::Event ev = std::move(**e);
    if (!corrupted && ev.kind == trace::EventKind::Preempt && ev.tid == root) {
      ev.state_hash[0] ^= 0xff;
      ev.user_time_ms = 0;
      corrupted = true;
    }
    REWIND_TRY((*writer)->write_event(ev));
  }
  REWIND_TRY((*writer)->close());
  return corrupted;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: corrupt_preempt SRC_TRACE DST_TRACE\n");
    return 2;
  }
  auto r = copy_corrupted(argv[1], argv[2]);
  if (!r) {
    fprintf(stderr, "corrupt_preempt: %s\n", r.error().message.c_str());
    return 1;
  }
  if (!*r) {
    fprintf(stderr, "corrupt_preempt: the initial thread has no preemption event\n");
    return 1;
  }
  return 0;
}
