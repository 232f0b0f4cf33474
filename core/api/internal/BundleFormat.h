// What the bundle writer (BundleWrite.cc) and opener (BundleOpen.cc)
// share: the format's names and limits, libarchive handles with one owner
// each, the manifest, and message helpers. Private to rewind_api.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/api/Bundle.h"
#include "core/base/Error.h"
#include "core/base/Units.h"
#include "core/trace/TraceTypes.h"

namespace rwd::api::bundle {

constexpr char kManifestName[] = "rewind-bundle";
constexpr char kTraceRoot[] = "trace";
constexpr size_t kManifestMax = 4096;
constexpr size_t kChunk = 1 << 20;
// Beyond any real trace; a manifest claiming more is not believed.
constexpr uint64_t kMaxMembers = 10'000'000;
constexpr uint64_t kMaxBytes = uint64_t{1} << 50;

// --- libarchive handles, one owner each -------------------------------------

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveWriter = std::unique_ptr<archive, WriteFree>;
using ArchiveReader = std::unique_ptr<archive, ReadFree>;
using Entry = std::unique_ptr<archive_entry, EntryFree>;

Error archive_error(archive* a, const std::string& what);

std::string hex(const uint8_t* p, size_t n);

// 'name' for messages, with any byte that is not printable ASCII as \xNN:
// a hostile name must not send escape sequences to the user's terminal.
std::string shown(std::string_view name);

// --- The manifest ------------------------------------------------------------

// A few "key value" lines, the first naming the format: small enough to read
// whole before anything else, and plain text, so that `tar -xOf B
// rewind-bundle` says what a bundle is.
struct Manifest {
  int version = kBundleFormatVersion;
  std::string uuid;    // the trace's, 32 hex digits
  uint64_t files = 0;  // members under trace/, directories included
  uint64_t bytes = 0;  // the sum of their sizes
};

std::string encode_manifest(const Manifest& m);

Result<uint64_t> parse_count(std::string_view v, uint64_t max);

Result<Manifest> parse_manifest(std::string_view text);

// The header of a finished trace; an incomplete one is an error.
Result<trace::TraceHeader> finished_trace_header(const std::filesystem::path& dir);

}  // namespace rwd::api::bundle
