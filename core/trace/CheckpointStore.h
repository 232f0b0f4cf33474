// Persistent checkpoints on disk (issue 13): a replay's state at an event
// boundary, kept in the trace directory so that a later replay starts near
// any point instead of at the beginning.
//
//   TRACE/checkpoints/cp-<events, 20 digits>.meta   one checkpoint's metadata
//   TRACE/checkpoints/pages-<id>.pack                page contents
//   TRACE/checkpoints/pages-h<64 hex>.pack           page contents, a hard link
//                                                    into a store shared by
//                                                    traces (rewind pack --pack-dir)
//
// A checkpoint's metadata (CheckpointData) names its pages by content
// (BLAKE2b-256 of the 4 KiB page); the contents live in pack files, each a
// run of LZ4 blocks with an index of the pages it holds. Saving a
// checkpoint writes only pages no pack holds yet, so a checkpoint every
// second of a program whose memory changes little costs little.
//
// Every file is written to a temporary name, fsynced and renamed into
// place, and carries the trace's uuid (a shared store's pack carries none:
// PackFile.h) and kCheckpointFormatVersion. Reading checks both, each
// block's checksum and each page's hash: a checkpoint of another trace or
// version, or a corrupt or truncated file, is an Error that says which file
// and what is wrong, never a crash.
//
// Only core/trace/ knows the encoding; the structs here are plain values.
// What the engine keeps of its own per task and per session travels as
// opaque bytes (`engine`), which core/replay/ encodes and checks.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/trace/TraceTypes.h"

namespace rwd::trace {

// Bumped whenever a reader of older checkpoint files could misread newer ones.
constexpr uint32_t kCheckpointFormatVersion = 1;

constexpr size_t kPageSize = 4096;
using PageHash = std::array<uint8_t, 32>;  // BLAKE2b-256 of one page
PageHash hash_page(const void* page);

// One mapping of a checkpointed address space, as /proc/PID/maps showed it.
struct CpMapping {
  uint64_t start = 0, end = 0;
  uint32_t prot = 0;       // PROT_*
  uint32_t flags = 0;      // MAP_PRIVATE or MAP_SHARED, | MAP_ANONYMOUS, | MAP_GROWSDOWN
  uint64_t offset = 0;     // in the file (file mappings)
  std::string trace_file;  // the trace's copy of the file it maps; empty: anonymous
  std::string name;        // as /proc/PID/maps names it ("[heap]", a path): for `dump`
  // MAP_SHARED anonymous memory: the same nonzero id in every process that
  // shares it; 0 otherwise.
  uint64_t shared_object = 0;
  bool operator==(const CpMapping&) const = default;
};

// A page whose contents are not what its mapping maps (a private page
// written since, anonymous memory that is not zero).
struct CpPage {
  uint64_t addr = 0;
  PageHash hash{};
  bool operator==(const CpPage&) const = default;
};

struct CpThread {
  int32_t rec_tid = 0;
  std::vector<uint8_t> regs;    // user_regs_struct
  std::vector<uint8_t> xstate;  // NT_X86_XSTATE
  uint64_t sigmask = 0;
  std::vector<uint8_t> altstack;  // stack_t; empty: none
  std::vector<uint8_t> engine;    // replay's per-task state (opaque here)
  bool operator==(const CpThread&) const = default;
};

struct CpSigaction {
  int32_t signo = 0;
  std::vector<uint8_t> act;  // the kernel's struct sigaction, as rt_sigaction(2) reads it
  bool operator==(const CpSigaction&) const = default;
};

struct CpProcess {
  int32_t rec_tgid = 0;
  std::vector<CpMapping> mappings;      // by address
  std::vector<CpPage> pages;            // by address
  std::vector<CpThread> threads;        // the leader first
  std::vector<CpSigaction> sigactions;  // those not SIG_DFL
  // struct prctl_mm_map's address fields (start_code ... env_end, brk):
  // where the kernel thinks the heap, the arguments and the stack are.
  std::vector<uint64_t> mm_layout;
  std::vector<uint8_t> engine;  // replay's per-process state (opaque here)
  bool operator==(const CpProcess&) const = default;
};

struct CheckpointData {
  std::array<uint8_t, 16> trace_uuid{};
  uint64_t events = 0;           // events completed: the checkpoint's place in the trace
  int64_t recorded_time_ns = 0;  // how far into the recording (CLOCK_MONOTONIC, from its start)
  ReaderPos reader;              // where replay goes on reading the trace
  std::vector<uint8_t> engine;   // replay's session state (opaque here)
  std::vector<CpProcess> processes;
  bool operator==(const CheckpointData&) const = default;
};

// A summary of one checkpoint, for `checkpoint list`, `info` and `dump`.
struct CheckpointInfo {
  uint64_t events = 0;
  int64_t recorded_time_ns = 0;
  uint64_t meta_bytes = 0;  // its metadata file
  uint64_t pack_bytes = 0;  // the pack file it wrote (the pages it added), 0 if none left
  size_t pages = 0;         // pages it names (stored once each across checkpoints)
  std::filesystem::path path;
};

// One thread at a time: read_page() keeps the blocks it last decompressed.
class CheckpointStore {
 public:
  // The checkpoints of the trace in `trace_dir`, whose header has `uuid`.
  // A trace without checkpoints opens fine (empty). Pack files that fail
  // their checks are skipped with a warning (load() then fails for the
  // checkpoints that need them).
  static Result<std::unique_ptr<CheckpointStore>> open(const std::filesystem::path& trace_dir,
                                                       const std::array<uint8_t, 16>& uuid);
  ~CheckpointStore();

  // Every checkpoint file present, by events. Listing reads only each
  // file's header: a corrupt one shows up here and fails in load().
  std::vector<CheckpointInfo> list() const;
  // The newest checkpoint at or before `events`, if any.
  std::optional<CheckpointInfo> at_or_before(uint64_t events) const;

  // Reads and checks one checkpoint's metadata: uuid, version, checksum,
  // and that every page it names is in some pack.
  Result<CheckpointData> load(uint64_t events) const;
  // A page's contents; checks the page against its hash.
  Result<void> read_page(const PageHash& hash, void* out) const;
  // Every page the checkpoints name, each once, ordered by checkpoint,
  // process and address (the order a restore reads them in). An Error when
  // a checkpoint's metadata cannot be read: then which pages it needs is
  // unknown. For `rewind pack`, which moves them to a shared store.
  Result<std::vector<PageHash>> pages_in_use() const;

  // Saving a checkpoint: add its pages (each returns the page's hash, and
  // compresses the page into the new pack unless some pack holds it), then
  // commit its metadata. Nothing is visible before commit(); a Writer
  // destroyed without commit() leaves nothing behind.
  class Writer {
   public:
    virtual ~Writer() = default;
    virtual Result<PageHash> add_page(const void* page) = 0;
    // Writes the pack (if it holds any page) and then the metadata, each
    // atomically; `data.trace_uuid` is set from the store.
    virtual Result<CheckpointInfo> commit(CheckpointData data) = 0;
  };
  // At most one Writer at a time; pages it adds are deduplicated against
  // every pack of the store and against each other. It must not outlive
  // the store. Saving again at the events of an existing checkpoint
  // replaces that checkpoint.
  Result<std::unique_ptr<Writer>> begin();

  // Removes a checkpoint's metadata, then every pack no remaining
  // checkpoint needs.
  Result<void> remove(uint64_t events);

 private:
  struct Impl;
  class StoreWriter;  // the Writer (CheckpointStore.cc)
  explicit CheckpointStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The writers of a trace take this lock first, exclusive: pack, and
// whatever saves or removes its checkpoints (checkpoint create and rm, and
// the replay that record --checkpoint-interval leaves saving them after
// the program has ended). An flock on the trace directory itself, so that
// it leaves no file behind and goes with its holder. Readers take none:
// every file is renamed into place whole.
Result<ScopedFd> lock_trace_for_writing(const std::filesystem::path& trace_dir);

}  // namespace rwd::trace
