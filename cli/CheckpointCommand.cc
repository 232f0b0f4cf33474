// rewind checkpoint list|rm|show: persistent checkpoints in a trace
// (core/trace/CheckpointStore.h), which replay -g, seek and reverse
// execution start from. `create` is CheckpointCreate.cc.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/CheckpointCli.h"
#include "cli/Commands.h"
#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

namespace rwd::cli {

const char kCheckpointUsage[] =
    "usage: rewind checkpoint create [TRACE] [--every N | --interval SECONDS]\n"
    "                                 replay TRACE once, saving a checkpoint every N events\n"
    "                                 or every SECONDS of recorded time (default: 1 s)\n"
    "       rewind checkpoint list [TRACE]\n"
    "       rewind checkpoint rm [TRACE] (EVENT... | --all)\n"
    "       rewind checkpoint show [TRACE] EVENT [--pages]\n"
    "                                 what the checkpoint at EVENT holds\n";

bool parse_u64(const char* s, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = strtoull(s, &end, 10);
  return *s && *end == 0 && errno == 0;
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b < 10 * 1024)
    snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
  else if (b < 10ull * 1024 * 1024)
    snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else
    snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  return buf;
}

std::string seconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

Result<OpenedStore> open_store(const std::string& arg, StoreAccess access) {
  auto dir = trace::resolve_trace_arg(arg);
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

namespace {

int list(int argc, char** argv) {
  if (argc > 1) return fputs(kCheckpointUsage, stderr), kExitUsage;
  auto o = open_store(argc ? argv[0] : "");
  if (!o) return fail(o.error());
  const auto cps = o->store->list();
  if (cps.empty()) {
    printf("no checkpoints (rewind checkpoint create makes them)\n");
    return 0;
  }
  printf("%12s  %10s  %10s  %s\n", "EVENT", "TIME", "SIZE", "PAGES");
  uint64_t total = 0;
  for (const trace::CheckpointInfo& c : cps) {
    const uint64_t size = c.meta_bytes + c.pack_bytes;
    total += size;
    printf("%12llu  %10s  %10s  %zu\n", (unsigned long long)c.events,
           seconds(c.recorded_time_ns / 1e9).c_str(), human_bytes(size).c_str(), c.pages);
  }
  printf("%zu checkpoints, %s on disk\n", cps.size(), human_bytes(total).c_str());
  return 0;
}

int remove(int argc, char** argv) {
  std::string trace_arg;
  std::vector<uint64_t> events;
  bool all = false;
  for (int i = 0; i < argc; ++i) {
    uint64_t n;
    if (!strcmp(argv[i], "--all"))
      all = true;
    else if (parse_u64(argv[i], n))
      events.push_back(n);
    else if (trace_arg.empty() && events.empty())
      trace_arg = argv[i];
    else
      return fputs(kCheckpointUsage, stderr), kExitUsage;
  }
  if (all == !events.empty()) return fputs(kCheckpointUsage, stderr), kExitUsage;
  auto o = open_store(trace_arg, StoreAccess::Write);
  if (!o) return fail(o.error());
  if (all)
    for (const trace::CheckpointInfo& c : o->store->list()) events.push_back(c.events);
  for (uint64_t e : events) {
    auto r = o->store->remove(e);
    if (!r) return fail(r.error());
  }
  printf("removed %zu checkpoint%s\n", events.size(), events.size() == 1 ? "" : "s");
  return 0;
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
  return buf;
}

}  // namespace

int show_checkpoint(const std::string& trace_arg, uint64_t event, bool pages) {
  auto o = open_store(trace_arg);
  if (!o) return fail(o.error());
  auto d = o->store->load(event);
  if (!d) return fail(d.error());
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
    if (pages)
      for (const trace::CpPage& pg : p.pages) {
        printf("    page %s ", hex(pg.addr).c_str());
        for (int i = 0; i < 8; ++i) printf("%02x", pg.hash[i]);
        printf("\n");
      }
  }
  return 0;
}

int cmd_checkpoint(int argc, char** argv) {
  if (argc < 1) return fputs(kCheckpointUsage, stderr), kExitUsage;
  const std::string sub = argv[0];
  if (sub == "create") return create_checkpoints(argc - 1, argv + 1);
  if (sub == "list" || sub == "ls") return list(argc - 1, argv + 1);
  if (sub == "rm") return remove(argc - 1, argv + 1);
  if (sub == "show" && argc >= 2) {
    uint64_t e;
    bool pages = argc >= 3 && !strcmp(argv[argc - 1], "--pages");
    const int n = argc - (pages ? 1 : 0);
    if (n == 2 && parse_u64(argv[1], e)) return show_checkpoint("", e, pages);
    if (n == 3 && parse_u64(argv[2], e)) return show_checkpoint(argv[1], e, pages);
  }
  fprintf(stderr, "rewind: checkpoint: unknown command '%s'\n%s", sub.c_str(), kCheckpointUsage);
  return kExitUsage;
}

}  // namespace rwd::cli
