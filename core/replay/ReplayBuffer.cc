// Replay's half of syscall buffering (preload/abi.h): before a thread runs
// toward an event, the syscalls it buffered on the way there go back into
// its buffer, where the preload library takes results and outputs from
// instead of making the syscalls.
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstring>

#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/task/RemoteSyscall.h"
#include "preload/abi.h"

namespace rwd {

using namespace syscallbuf;

// The recorder emptied the buffer at each event of the thread that found it
// unlocked, and took what the library had added into the next event: do the
// same, a stretch ahead. (Records are appended after those the thread has
// not taken yet: see below.)
Result<void> ReplaySession::load_syscallbuf(const trace::Event& e) {
  RepTask* t = find(e.tid);
  if (!t || !t->syscallbuf || t->syscallbuf_loaded == e.num.value) return ok_result();
  t->syscallbuf_loaded = e.num.value;
  BufHeader h;
  if (t->task->as().read_partial(RemotePtr(t->syscallbuf), &h, sizeof h) != sizeof h) {
    if (e.syscallbuf.empty()) return ok_result();  // gone (an exit)
    return divergence(e, "the thread's syscall buffer is not mapped");
  }
  if (!records_well_formed(e.syscallbuf.data(), e.syscallbuf.size()))
    return divergence(e, "the trace's buffered syscalls are corrupt");
  const BufHeader before = h;
  // (Only once the thread has taken every record: a thread that hands the
  // baton around was stopped somewhere on its way, its records partly
  // taken, where the recorder found it at its previous event.)
  if (!h.locked && h.pos >= h.end) h.pos = 0, h.end = 0;
  if (h.end > kRecordsEnd - sizeof h || e.syscallbuf.size() > kRecordsEnd - sizeof h - h.end)
    return divergence(e, "the buffered syscalls do not fit in the thread's buffer");
  const uint32_t at = h.end;
  h.end += static_cast<uint32_t>(e.syscallbuf.size());
  h.want_stop = e.kind == trace::EventKind::SyscallEntry && e.syscall_no == kSysFlush &&
                e.regs.rdi == static_cast<uint64_t>(kFlushWanted);
  // As few writes as it takes, since this runs at every event of the
  // thread: none when nothing changed, and one for the header and a few
  // records that follow it.
  const bool header_changed = memcmp(&before, &h, sizeof h) != 0;
  if (e.syscallbuf.empty())
    return header_changed ? t->task->write_mem(RemotePtr(t->syscallbuf), &h, sizeof h)
                          : ok_result();
  constexpr size_t kOneWrite = 4096;
  if (at == 0 && e.syscallbuf.size() <= kOneWrite) {
    uint8_t both[sizeof h + kOneWrite];
    memcpy(both, &h, sizeof h);
    memcpy(both + sizeof h, e.syscallbuf.data(), e.syscallbuf.size());
    return t->task->write_mem(RemotePtr(t->syscallbuf), both, sizeof h + e.syscallbuf.size());
  }
  REWIND_TRY(t->task->write_mem(RemotePtr(t->syscallbuf + sizeof h + at), e.syscallbuf.data(),
                                e.syscallbuf.size()));
  return t->task->write_mem(RemotePtr(t->syscallbuf), &h, sizeof h);
}

// The exit of the library's own syscalls: the stub pages the recorder
// mapped (their contents and the patched sites are the event's writes), and
// the thread's buffer.
Result<void> ReplaySession::on_preload_call(RepTask& t, const trace::Event& e) {
  if (e.syscall_no == kSysInitThread) {
    t.syscallbuf = t.entry_regs.rdi;
    t.syscallbuf_loaded = 0;
    return ok_result();
  }
  if (e.syscall_no != kSysInitPreload) return ok_result();
  if (auto init = t.task->read_val<PreloadInit>(RemotePtr(t.entry_regs.rdi)))
    t.task->as().preload_text = {init->text_start, init->text_end};
  auto [lo, hi] = mappings_.equal_range(t.entry_event.value);
  AutoRemoteSyscalls remote(*t.task);
  for (auto it = lo; it != hi; ++it) {
    const trace::MappingRecord& m = *it->second;
    // (Not the thread's buffered mmaps, which are never executable.)
    if (m.tid != e.tid || !(m.flags & MAP_ANONYMOUS) || !(m.prot & PROT_EXEC)) continue;
    auto r = remote.syscall(SYS_mmap, m.start, m.end - m.start, m.prot,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                            static_cast<uint64_t>(-1), 0);
    if (!r) return r.error();
    if (static_cast<uint64_t>(*r) != m.start)
      return divergence(e, "cannot map the syscall stubs where the recording had them");
    t.task->as().syscall_stubs.emplace_back(m.start, m.end);
  }
  return ok_result();
}

}  // namespace rwd
