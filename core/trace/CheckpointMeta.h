// The cp-<events>.meta files of a checkpoint store (CheckpointStore.h):
//
//   header (112 bytes, little-endian)
//     0   "RWCKMETA"
//     8   u32 kCheckpointFormatVersion
//     12  u32 1 if the checkpoint wrote a pack (then its PackId is events
//         and the seq at 56), else 0
//     16  the trace's uuid (16 bytes)
//     32  u64 events               40  i64 recorded_time_ns
//     48  u64 pages it names       56  u32 pack seq  60  u32 0
//     64  u64 body length
//     72  BLAKE2b-256 of the body
//     104 BLAKE2b-64 of bytes 0..104
//   body: one Cap'n Proto Checkpoint message (checkpoint.capnp)
//
// The header holds what `checkpoint list` shows, so listing reads 112
// bytes per checkpoint; it has its own checksum because the body's does
// not cover it. The version comes before that checksum is checked: a
// header of another version may have another layout.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/trace/CheckpointFiles.h"
#include "core/trace/CheckpointStore.h"

namespace rwd::trace {

constexpr size_t kMetaHeaderSize = 112;

struct MetaHeader {
  uint32_t version = 0;
  Uuid uuid{};
  uint64_t events = 0;
  int64_t recorded_time_ns = 0;
  uint64_t pages = 0;
  std::optional<PackId> pack;  // the pack the checkpoint wrote
  uint64_t body_length = 0;
  std::array<uint8_t, 32> body_sum{};
};

// A whole meta file, header and body, for `data` (whose trace_uuid must be
// set) that wrote `pack`.
Result<std::vector<uint8_t>> encode_meta(const CheckpointData& data, std::optional<PackId> pack);

// Checks a meta file's header (its first `len` bytes, at most
// kMetaHeaderSize of them): magic, version, header checksum, that it
// belongs to the trace with `uuid`, and that it holds the checkpoint at
// `events` (the file's name says which).
Result<MetaHeader> parse_meta_header(const uint8_t* header, size_t len, const std::string& path,
                                     const Uuid& uuid, uint64_t events);
// The same, reading the header of the file `fd` at `path`.
Result<MetaHeader> read_meta_header(int fd, const std::string& path, const Uuid& uuid,
                                    uint64_t events);

// Reads, checks and decodes a whole meta file. Errors name the file and
// say what is wrong with it in plain words.
Result<CheckpointData> read_meta(const std::filesystem::path& path, const Uuid& uuid,
                                 uint64_t events);

}  // namespace rwd::trace
