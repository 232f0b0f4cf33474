// libFuzzer target for the trace reader (core/trace/TraceReader.h). Each
// input becomes a whole trace directory; the reader opens it, reads every
// event, and a clone taken after the first event must read the same rest.
//
// Input: records of  tag:u8 | length:u16 little-endian | bytes
// (a last record cut short keeps the bytes there are).
//   tag % 8 picks the file, in kFiles order; 7 makes an empty files/NAME,
//   a captured file for mappings and execs to name.
//   tag & 0x80 ("raw"): the bytes are the file's own bytes. Otherwise the
//   bytes of a block stream become one LZ4 block with a valid checksum, so
//   that mutations reach the Cap'n Proto messages behind the checksum;
//   several records for one file make several blocks. version and
//   incomplete are always raw.
// make_seeds.cc writes real traces in this form.
#include <blake2.h>
#include <lz4.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace/BlockStream.h"
#include "core/trace/TraceReader.h"

namespace fs = std::filesystem;
using namespace rwd;
using namespace rwd::trace;

namespace {

constexpr const char* kFiles[] = {"version", "incomplete", "header", "mmaps",
                                  "tasks",   "events",     "data"};
constexpr uint8_t kCapturedFileTag = 7;
constexpr uint8_t kRawBit = 0x80;

// Something the reader must never do, whatever the input: libFuzzer reports
// the abort as a crash and keeps the input.
void check(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_trace: %s\n", what.c_str());
  std::abort();
}

// One directory per process, on tmpfs when there is one: every input
// rewrites it, and a disk would make that the slowest part.
class ScratchDir {
 public:
  ScratchDir() {
    const fs::path parent = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path();
    std::string tmpl = parent / "rewind-fuzz-trace-XXXXXX";
    check(::mkdtemp(tmpl.data()) != nullptr, "cannot create a scratch directory");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// `bytes` as one block of BlockStream.h's layout: magic, uncompressed and
// compressed sizes (u32 LE), BLAKE2b-64 of the compressed bytes, LZ4 bytes.
// Made here rather than by BlockWriter, which reserves a 1 MiB buffer per
// writer: under ASan that made each input four times slower.
// LLVMFuzzerInitialize checks that BlockReader reads it back.
std::string one_block(std::string_view bytes) {
  if (bytes.empty()) return "";
  constexpr size_t kHeader = 4 + 4 + 4 + 8;
  const int bound = LZ4_compressBound(static_cast<int>(bytes.size()));
  std::string out(kHeader + static_cast<size_t>(bound), '\0');
  const int csize = LZ4_compress_default(bytes.data(), out.data() + kHeader,
                                         static_cast<int>(bytes.size()), bound);
  check(csize > 0, "LZ4_compress_default");
  auto put_u32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(v >> (8 * i));
  };
  std::memcpy(out.data(), "RWB1", 4);
  put_u32(4, static_cast<uint32_t>(bytes.size()));
  put_u32(8, static_cast<uint32_t>(csize));
  check(blake2b(reinterpret_cast<uint8_t*>(out.data()) + 12, out.data() + kHeader, nullptr, 8,
                static_cast<size_t>(csize), 0) == 0,
        "blake2b");
  out.resize(kHeader + static_cast<size_t>(csize));
  return out;
}

// A name for files/ made of the bytes that are safe in one: nothing may be
// created outside the trace.
std::string captured_file_name(std::string_view bytes) {
  std::string name;
  for (char c : bytes.substr(0, 64)) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')
      name.push_back(c);
  }
  return name == "." || name == ".." ? "" : name;
}

// Turns the input into a trace directory at `dir`.
void write_trace(const uint8_t* data, size_t size, const fs::path& dir) {
  std::map<std::string, std::string> files;  // name -> bytes
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (in.size() >= 3) {
    const uint8_t tag = static_cast<uint8_t>(in[0]);
    const size_t len = static_cast<uint8_t>(in[1]) | static_cast<size_t>(in[2]) << 8;
    std::string_view bytes = in.substr(3, len);
    in.remove_prefix(3 + bytes.size());
    const uint8_t file = tag % 8;
    if (file == kCapturedFileTag) {
      if (std::string name = captured_file_name(bytes); !name.empty()) files["files/" + name];
      continue;
    }
    const bool block_stream = file >= 2;
    std::string& out = files[kFiles[file]];
    if (block_stream && !(tag & kRawBit))
      out += one_block(bytes);
    else
      out += bytes;
  }

  std::error_code ec;
  fs::remove_all(dir, ec);
  check(fs::create_directories(dir / "files", ec), "cannot create " + dir.string());
  for (const auto& [name, bytes] : files) {
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    check(out.good(), "cannot write " + (dir / name).string());
  }
}

// What the event stream holds from here, at most `limit` events: each
// event's identity and written bytes, then how it ends ("end" or the error).
std::vector<std::string> read_events(TraceReader& reader, size_t limit = SIZE_MAX) {
  std::vector<std::string> seen;
  while (seen.size() < limit) {
    auto next = reader.next_event();
    if (!next) {
      seen.push_back("error: " + next.error().message);
      return seen;
    }
    if (!*next) {
      seen.push_back("end");
      return seen;
    }
    const Event& e = **next;
    std::string s = std::to_string(e.num.value) + " tid " + std::to_string(e.tid.value) + " kind " +
                    std::to_string(static_cast<int>(e.kind));
    for (const MemWrite& w : e.writes) {
      s += " @" + std::to_string(w.addr) + ":";
      s.append(w.bytes.begin(), w.bytes.end());
    }
    seen.push_back(std::move(s));
  }
  return seen;
}

bool ended(const std::vector<std::string>& seen) {
  return !seen.empty() && (seen.back() == "end" || seen.back().starts_with("error: "));
}

ScratchDir& scratch() {
  static ScratchDir dir;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string bytes = "two blocks: the reader must see these bytes in order";
  const fs::path path = scratch().path() / "blocks";
  std::ofstream(path, std::ios::binary)
      << one_block(bytes.substr(0, 9)) << one_block(bytes.substr(9));
  auto in = BlockReader::open(path);
  check(in.ok(), "BlockReader::open");
  std::string back(bytes.size(), '\0');
  auto got = (*in)->read(back.data(), back.size());
  check(got.ok() && *got && back == bytes && (*in)->at_end(),
        "one_block() no longer writes what BlockReader reads: update it from BlockStream.cc");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path dir = scratch().path() / "trace";
  write_trace(data, size, dir);

  // ReadPrefix: a finished trace reads as with Refuse, and an unfinished
  // one goes through the scan for its last complete event as well.
  auto reader = TraceReader::open(dir, IncompleteTraces::ReadPrefix);
  if (!reader) return 0;

  // The clone starts after the first event, if there is one: it must copy
  // the position inside the current block of both streams.
  if (ended(read_events(**reader, 1))) return 0;
  auto clone = (*reader)->clone();
  check(clone.ok(), "clone() failed: " + (clone.ok() ? "" : clone.error().message));
  check(read_events(**reader) == read_events(**clone), "the clone read other events");
  return 0;
}
