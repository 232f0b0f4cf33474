// SysV shared memory (shmat): the segment is recorded as a shared mapping
// of a file, whose content the trace captures at the attach, so replay can
// map a copy of it where the recording had the segment (ReplayShm.cc).
//
// Replay has no segment of that id, and making one would not help: a fork
// checkpoint shares it, and the recorded ids name nothing on another
// machine. The kernel backs a segment with a shmem file, which
// /proc/PID/map_files opens for root like any mapped file, so capturing it
// is capture_file's job, once per segment: every later attach names the
// same trace file (the first capture dedupes nothing: writes through the
// segment change its mtime), and replay maps one writable copy of it in
// every process that attached it, so writes through any attach are seen
// through the others, as they were.
//
// Not covered: a segment that a process outside the recording writes while
// the recording runs (as with a shared file mapping written from outside).
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstdio>

#include "core/record/RecordSession.h"
#include "core/task/ProcMaps.h"

namespace rwd {

Result<void> RecordSession::record_shmat(RecTask& t, uint64_t addr) {
  const pid_t tid = t.task->real_tid();
  auto maps = read_proc_maps(tid);
  if (!maps) return maps.error();
  const KernelMapping* km = nullptr;
  for (const KernelMapping& k : *maps)
    if (k.start == addr) km = &k;
  if (!km) return Error{"shmat returned an address where nothing is mapped"};
  char access_buf[96];
  snprintf(access_buf, sizeof access_buf, "/proc/%d/map_files/%lx-%lx", tid,
           (unsigned long)km->start, (unsigned long)km->end);
  const std::string access = access_buf;
  struct stat st;
  if (stat(access.c_str(), &st) < 0) return Error::from_errno("stat " + access);
  trace::MappingRecord m;
  m.event = t.entry_event;
  m.tid = t.task->rec_tid();
  m.start = addr;
  m.end = addr + ((static_cast<uint64_t>(st.st_size) + 4095) & ~4095ull);
  m.prot = km->prot;
  m.flags = MAP_SHARED;
  // "/SYSV" and the key in 8 hex digits, then " (deleted)".
  m.orig_path = km->name.substr(0, km->name.find(' '));
  m.dev = st.st_dev;
  m.inode = st.st_ino;  // the segment's id
  m.size = st.st_size;
  m.mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
  auto known = shm_segments_.find({m.dev, m.inode});
  if (known == shm_segments_.end()) {
    auto c = writer_.capture_file({m.orig_path, access, st, /*mapped_shared_writable=*/true});
    if (!c) return c.error().context("capturing the SysV shared memory segment " + m.orig_path);
    known = shm_segments_.emplace(std::make_pair(m.dev, m.inode), *c).first;
  }
  m.trace_file = known->second.trace_file;
  m.storage = known->second.storage;
  return writer_.write_mapping(m);
}

}  // namespace rwd
