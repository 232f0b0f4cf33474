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
//   tag & 0x40 ("edits", not raw): no file, but edits of the events'
//   buffered syscall records (preload/abi.h BufRecord, OutHead), 4 bytes
//   each; see apply_edit. The records sit in the data stream behind the
//   events' memory writes, where plain byte mutations seldom keep the rest
//   of a trace readable; the reader passes them on as they are, so an edit
//   after reading is the same as one in the file.
// make_seeds.cc writes real traces in this form.
//
// Each event's records then get replay's check (abi.h records_well_formed);
// those that pass are walked as replay's library walks them (preload.cc
// find_record, copy_outputs), which must stay inside them.
#include <blake2.h>
#include <lz4.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
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
#include "preload/abi.h"

namespace fs = std::filesystem;
using namespace rwd;
using namespace rwd::trace;

namespace {

constexpr const char* kFiles[] = {"version", "incomplete", "header", "mmaps",
                                  "tasks",   "events",     "data"};
constexpr uint8_t kCapturedFileTag = 7;
constexpr uint8_t kRawBit = 0x80;
constexpr uint8_t kEditsBit = 0x40;

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

// ---- Edits of buffered syscall records

// One edit: [event number % 256] [op] [value: u16 LE]. op & 7 picks the
// field; the record is op >> 3 (0..31), or for the output fields, record
// op >> 5 (0..7) and its output (op >> 3) & 3. The value's top two bits say
// how it changes the field: set it to a boundary value (kBoundary[value &
// 7]), add a signed byte, flip one bit, or set it to the low 14 bits.
struct Edit {
  uint8_t event, op;
  uint16_t value;
};
enum Field : uint8_t { kSize, kNr, kRet, kNouts, kArg0, kOutAddr, kOutLen, kCut };
constexpr uint64_t kBoundary[8] = {0, 1, 7, 8, 24, 0x7fffffff, 0xfffffff8, ~uint64_t{0}};

// Offset of record `k` of the run, walking by sizes while they are sane;
// SIZE_MAX if there is no such record.
size_t record_at(const std::vector<uint8_t>& run, unsigned k) {
  size_t at = 0;
  for (;; --k) {
    if (run.size() - at < sizeof(syscallbuf::BufRecord)) return SIZE_MAX;
    if (k == 0) return at;
    uint32_t size;
    std::memcpy(&size, run.data() + at, sizeof size);
    if (size < sizeof(syscallbuf::BufRecord) || size > run.size() - at) return SIZE_MAX;
    at += size;
  }
}

// Offset of output `j`'s OutHead in the record at `rec`; SIZE_MAX if the
// record's bytes end first.
size_t output_at(const std::vector<uint8_t>& run, size_t rec, unsigned j) {
  size_t p = rec + sizeof(syscallbuf::BufRecord);
  for (;; --j) {
    if (run.size() < sizeof(syscallbuf::OutHead) || p > run.size() - sizeof(syscallbuf::OutHead))
      return SIZE_MAX;
    if (j == 0) return p;
    syscallbuf::OutHead h;
    std::memcpy(&h, run.data() + p, sizeof h);
    if (h.len > run.size()) return SIZE_MAX;
    p += sizeof h + syscallbuf::pad8(h.len);
  }
}

// The field's new value, from its old one and the edit's value.
uint64_t edited(uint64_t old, uint16_t value) {
  switch (value >> 14) {
    case 0:
      return kBoundary[value & 7];
    case 1:
      return old + static_cast<uint64_t>(static_cast<int8_t>(value & 0xff));
    case 2:
      return old ^ (uint64_t{1} << (value & 63));
    default:
      return value & 0x3fff;
  }
}

template <typename T>
void poke(std::vector<uint8_t>& run, size_t at, uint16_t value) {
  if (at == SIZE_MAX || at > run.size() || run.size() - at < sizeof(T)) return;
  T v;
  std::memcpy(&v, run.data() + at, sizeof v);
  v = static_cast<T>(edited(v, value));
  std::memcpy(run.data() + at, &v, sizeof v);
}

void apply_edit(std::vector<uint8_t>& run, const Edit& edit) {
  using syscallbuf::BufRecord;
  using syscallbuf::OutHead;
  const auto field = static_cast<Field>(edit.op & 7);
  const bool out_field = field == kOutAddr || field == kOutLen;
  const size_t rec = record_at(run, out_field ? edit.op >> 5 : edit.op >> 3);
  if (rec == SIZE_MAX) return;
  const size_t out = out_field ? output_at(run, rec, (edit.op >> 3) & 3) : SIZE_MAX;
  switch (field) {
    case kSize:
      return poke<uint32_t>(run, rec + offsetof(BufRecord, size), edit.value);
    case kNr:
      return poke<uint32_t>(run, rec + offsetof(BufRecord, nr), edit.value);
    case kRet:
      return poke<int64_t>(run, rec + offsetof(BufRecord, ret), edit.value);
    case kNouts:
      return poke<uint32_t>(run, rec + offsetof(BufRecord, nouts), edit.value);
    case kArg0:
      return poke<uint32_t>(run, rec + offsetof(BufRecord, arg0), edit.value);
    case kOutAddr:
      if (out != SIZE_MAX) poke<uint64_t>(run, out + offsetof(OutHead, addr), edit.value);
      return;
    case kOutLen:
      if (out != SIZE_MAX) poke<uint64_t>(run, out + offsetof(OutHead, len), edit.value);
      return;
    case kCut:  // the run ends inside or after record k
      run.resize(std::min(run.size(), rec + (edit.value & 0x3ff)));
      return;
  }
}

// What replay does with an event's records: the check, then, if they pass,
// the library's walk. The walk reads only through `in`, which aborts on
// bytes outside the run: the check must have ruled out every such read.
void check_buffered(const std::vector<uint8_t>& run) {
  if (!syscallbuf::records_well_formed(run.data(), run.size())) return;  // replay stops there
  auto in = [&](uint64_t at, uint64_t len) {
    check(at <= run.size() && len <= run.size() - at,
          "a well-formed record's walk reads outside its run");
    return run.data() + at;
  };
  uint64_t pos = 0;
  while (pos < run.size()) {  // find_record: the header, its size within the run
    syscallbuf::BufRecord rec;
    std::memcpy(&rec, in(pos, sizeof rec), sizeof rec);
    check(rec.size >= sizeof rec, "a well-formed record is smaller than its header");
    in(pos, rec.size);
    const uint64_t end = pos + rec.size;
    uint64_t p = pos + sizeof rec;
    for (uint32_t i = 0; i < rec.nouts; ++i) {  // copy_outputs
      syscallbuf::OutHead h;
      std::memcpy(&h, in(p, sizeof h), sizeof h);
      in(p + sizeof h, h.len);
      p += sizeof h + syscallbuf::pad8(h.len);
      check(p <= end, "a well-formed record's outputs run past it");
    }
    pos = end;
  }
}

// Turns the input into a trace directory at `dir`, and the edits of
// buffered records into `edits`.
void write_trace(const uint8_t* data, size_t size, const fs::path& dir, std::vector<Edit>& edits) {
  std::map<std::string, std::string> files;  // name -> bytes
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (in.size() >= 3) {
    const uint8_t tag = static_cast<uint8_t>(in[0]);
    const size_t len = static_cast<uint8_t>(in[1]) | static_cast<size_t>(in[2]) << 8;
    std::string_view bytes = in.substr(3, len);
    in.remove_prefix(3 + bytes.size());
    const uint8_t file = tag % 8;
    if ((tag & kEditsBit) && !(tag & kRawBit)) {
      for (size_t i = 0; i + 4 <= bytes.size(); i += 4)
        edits.push_back({static_cast<uint8_t>(bytes[i]), static_cast<uint8_t>(bytes[i + 1]),
                         static_cast<uint16_t>(static_cast<uint8_t>(bytes[i + 2]) |
                                               static_cast<uint8_t>(bytes[i + 3]) << 8)});
      continue;
    }
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
// event's identity, written bytes and buffered records (edited, and put
// through replay's checks), then how it ends ("end" or the error).
std::vector<std::string> read_events(TraceReader& reader, const std::vector<Edit>& edits,
                                     size_t limit = SIZE_MAX) {
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
    Event& e = **next;
    std::string s = std::to_string(e.num.value) + " tid " + std::to_string(e.tid.value) + " kind " +
                    std::to_string(static_cast<int>(e.kind));
    for (const MemWrite& w : e.writes) {
      s += " @" + std::to_string(w.addr) + ":";
      s.append(w.bytes.begin(), w.bytes.end());
    }
    for (const Edit& edit : edits)
      if (edit.event == static_cast<uint8_t>(e.num.value)) apply_edit(e.syscallbuf, edit);
    check_buffered(e.syscallbuf);
    s += " buffered:";
    s.append(e.syscallbuf.begin(), e.syscallbuf.end());
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
  std::vector<Edit> edits;
  write_trace(data, size, dir, edits);

  // ReadPrefix: a finished trace reads as with Refuse, and an unfinished
  // one goes through the scan for its last complete event as well.
  auto reader = TraceReader::open(dir, IncompleteTraces::ReadPrefix);
  if (!reader) return 0;

  // The clone starts after the first event, if there is one: it must copy
  // the position inside the current block of both streams.
  if (ended(read_events(**reader, edits, 1))) return 0;
  auto clone = (*reader)->clone();
  check(clone.ok(), "clone() failed: " + (clone.ok() ? "" : clone.error().message));
  check(read_events(**reader, edits) == read_events(**clone, edits), "the clone read other events");
  return 0;
}
