// Listing, showing and removing persistent checkpoints (Checkpoints.h);
// making them is CheckpointCreate.cc.
#include "core/api/Checkpoints.h"

#include <sys/user.h>

#include <cstdio>
#include <cstring>

#include "core/api/Trace.h"
#include "core/api/internal/OpenStore.h"

namespace rwd::api {

namespace internal {

Result<OpenedStore> open_store(const std::string& arg, StoreAccess access) {
  auto dir = resolve_trace(arg);  // a directory, or a bundle (Trace.h)
  if (!dir) return dir.error();
  ScopedFd lock;
  if (access == StoreAccess::Write) {
    auto locked = trace::lock_trace_for_writing(*dir);
    if (!locked) return locked.error();
    lock = std::move(*locked);
  }
  auto reader = trace::TraceReader::open(*dir, trace::IncompleteTraces::ReadPrefix);
  if (!reader) return reader.error();
  auto store = trace::CheckpointStore::open(*dir, (*reader)->header().uuid);
  if (!store) return store.error();
  return OpenedStore{std::move(*reader), std::move(*store), std::move(lock)};
}

}  // namespace internal

using internal::open_store;
using internal::StoreAccess;

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
  return buf;
}

Result<size_t> remove_from(internal::OpenedStore& o, const std::vector<uint64_t>& events) {
  for (uint64_t e : events) {
    auto r = o.store->remove(e);
    if (!r) return r.error();
  }
  return events.size();
}

}  // namespace

Result<std::vector<CheckpointSummary>> list_checkpoints(const std::string& trace_arg) {
  auto o = open_store(trace_arg);
  if (!o) return o.error();
  std::vector<CheckpointSummary> out;
  for (const trace::CheckpointInfo& c : o->store->list())
    out.push_back({c.events, c.recorded_time_ns, c.meta_bytes + c.pack_bytes, c.pages});
  return out;
}

Result<size_t> remove_checkpoints(const std::string& trace_arg,
                                  const std::vector<uint64_t>& events) {
  auto o = open_store(trace_arg, StoreAccess::Write);
  if (!o) return o.error();
  return remove_from(*o, events);
}

Result<size_t> remove_all_checkpoints(const std::string& trace_arg) {
  auto o = open_store(trace_arg, StoreAccess::Write);
  if (!o) return o.error();
  std::vector<uint64_t> events;
  for (const trace::CheckpointInfo& c : o->store->list()) events.push_back(c.events);
  return remove_from(*o, events);
}

Result<void> print_checkpoint(const std::string& trace_arg, uint64_t event, CheckpointPages pages) {
  auto o = open_store(trace_arg);
  if (!o) return o.error();
  auto d = o->store->load(event);
  if (!d) return d.error();
  printf(
      "checkpoint at event %llu, %.3f s into the recording, trace position: events block "
      "%llu+%llu, data block %llu+%llu\n",
      (unsigned long long)d->events, d->recorded_time_ns / 1e9,
      (unsigned long long)d->reader.events.block_offset,
      (unsigned long long)d->reader.events.in_block,
      (unsigned long long)d->reader.data.block_offset, (unsigned long long)d->reader.data.in_block);
  for (const trace::CpProcess& p : d->processes) {
    printf("process %d: %zu threads, %zu mappings, %zu saved pages, %zu signal handlers\n",
           p.rec_tgid, p.threads.size(), p.mappings.size(), p.pages.size(), p.sigactions.size());
    for (const trace::CpThread& t : p.threads) {
      user_regs_struct r{};
      if (t.regs.size() == sizeof r) memcpy(&r, t.regs.data(), sizeof r);
      printf("  thread %d: rip %s rsp %s rax %s fs_base %s sigmask %s%s\n", t.rec_tid,
             hex(r.rip).c_str(), hex(r.rsp).c_str(), hex(r.rax).c_str(), hex(r.fs_base).c_str(),
             hex(t.sigmask).c_str(), t.altstack.empty() ? "" : " (alternate signal stack)");
    }
    for (const trace::CpMapping& m : p.mappings) {
      size_t n = 0;
      for (const trace::CpPage& pg : p.pages) n += pg.addr >= m.start && pg.addr < m.end;
      printf("  %s-%s %c%c%c%c %8zu pages saved  %s%s\n", hex(m.start).c_str(), hex(m.end).c_str(),
             m.prot & 1 ? 'r' : '-', m.prot & 2 ? 'w' : '-', m.prot & 4 ? 'x' : '-',
             m.flags & 1 ? 's' : 'p', n,
             m.trace_file.empty() ? "" : ("trace:" + m.trace_file + " ").c_str(), m.name.c_str());
    }
    if (pages == CheckpointPages::List)
      for (const trace::CpPage& pg : p.pages) {
        printf("    page %s ", hex(pg.addr).c_str());
        for (int i = 0; i < 8; ++i) printf("%02x", pg.hash[i]);
        printf("\n");
      }
  }
  return ok_result();
}

}  // namespace rwd::api
