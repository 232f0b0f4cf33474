#include "core/trace/CheckpointMeta.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <sys/stat.h>

#include <cstring>
#include <string_view>

#include "core/base/FileIo.h"
#include "core/trace/checkpoint.capnp.h"

namespace rwd::trace {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "RWCKMETA";
constexpr size_t kHeaderSumAt = 104;
static_assert(kHeaderSumAt + 8 == kMetaHeaderSize);
// A checkpoint names each page in 40 bytes, so this is some 25 million
// pages (100 GiB of memory that differs from its files): far beyond a real
// one, and a bound on what a hostile length can make the reader allocate.
constexpr uint64_t kMaxBodyBytes = 1ull << 30;

Error meta_error(const std::string& path, const std::string& what) {
  return Error{"checkpoint " + path + ": " + what};
}

capnp::Data::Reader data_of(const std::vector<uint8_t>& v) {
  return capnp::Data::Reader(v.data(), v.size());
}

std::vector<uint8_t> bytes_of(capnp::Data::Reader d) {
  return std::vector<uint8_t>(d.begin(), d.end());
}

std::string string_of(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

capnp::Data::Reader data_of(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

void encode_process(const CpProcess& p, schema::CpProcess::Builder b) {
  b.setRecTgid(p.rec_tgid);
  auto mappings = b.initMappings(static_cast<unsigned>(p.mappings.size()));
  for (unsigned i = 0; i < p.mappings.size(); ++i) {
    const CpMapping& m = p.mappings[i];
    auto mb = mappings[i];
    mb.setStart(m.start);
    mb.setEnd(m.end);
    mb.setProt(m.prot);
    mb.setFlags(m.flags);
    mb.setOffset(m.offset);
    mb.setTraceFile(data_of(m.trace_file));
    mb.setName(data_of(m.name));
    mb.setSharedObject(m.shared_object);
  }
  auto addrs = b.initPageAddrs(static_cast<unsigned>(p.pages.size()));
  auto hashes = b.initPageHashes(static_cast<unsigned>(p.pages.size() * sizeof(PageHash)));
  for (unsigned i = 0; i < p.pages.size(); ++i) {
    addrs.set(i, p.pages[i].addr);
    std::memcpy(hashes.begin() + size_t{i} * sizeof(PageHash), p.pages[i].hash.data(),
                sizeof(PageHash));
  }
  auto threads = b.initThreads(static_cast<unsigned>(p.threads.size()));
  for (unsigned i = 0; i < p.threads.size(); ++i) {
    const CpThread& t = p.threads[i];
    auto tb = threads[i];
    tb.setRecTid(t.rec_tid);
    tb.setRegs(data_of(t.regs));
    tb.setXstate(data_of(t.xstate));
    tb.setSigmask(t.sigmask);
    tb.setAltstack(data_of(t.altstack));
    tb.setEngine(data_of(t.engine));
  }
  auto sigactions = b.initSigactions(static_cast<unsigned>(p.sigactions.size()));
  for (unsigned i = 0; i < p.sigactions.size(); ++i) {
    sigactions[i].setSigno(p.sigactions[i].signo);
    sigactions[i].setAct(data_of(p.sigactions[i].act));
  }
  auto layout = b.initMmLayout(static_cast<unsigned>(p.mm_layout.size()));
  for (unsigned i = 0; i < p.mm_layout.size(); ++i) layout.set(i, p.mm_layout[i]);
  b.setEngine(data_of(p.engine));
}

StreamPos decode_stream_pos(schema::StreamPos::Reader r) {
  return StreamPos{r.getBlockOffset(), r.getInBlock()};
}

Result<CpProcess> decode_process(schema::CpProcess::Reader r, const std::string& path) {
  CpProcess p;
  p.rec_tgid = r.getRecTgid();
  for (auto m : r.getMappings()) {
    p.mappings.push_back(CpMapping{m.getStart(), m.getEnd(), m.getProt(), m.getFlags(),
                                   m.getOffset(), string_of(m.getTraceFile()),
                                   string_of(m.getName()), m.getSharedObject()});
  }
  auto addrs = r.getPageAddrs();
  auto hashes = r.getPageHashes();
  if (hashes.size() != size_t{addrs.size()} * sizeof(PageHash)) {
    return meta_error(path, "process " + std::to_string(p.rec_tgid) + " has " +
                                std::to_string(addrs.size()) + " pages but " +
                                std::to_string(hashes.size()) + " bytes of page hashes");
  }
  p.pages.resize(addrs.size());
  for (unsigned i = 0; i < addrs.size(); ++i) {
    p.pages[i].addr = addrs[i];
    std::memcpy(p.pages[i].hash.data(), hashes.begin() + size_t{i} * sizeof(PageHash),
                sizeof(PageHash));
  }
  for (auto t : r.getThreads()) {
    p.threads.push_back(CpThread{t.getRecTid(), bytes_of(t.getRegs()), bytes_of(t.getXstate()),
                                 t.getSigmask(), bytes_of(t.getAltstack()),
                                 bytes_of(t.getEngine())});
  }
  for (auto s : r.getSigactions()) p.sigactions.push_back({s.getSigno(), bytes_of(s.getAct())});
  for (uint64_t v : r.getMmLayout()) p.mm_layout.push_back(v);
  p.engine = bytes_of(r.getEngine());
  return p;
}

// The body, which passed its checksum, against the header that named it.
Result<CheckpointData> decode_body(kj::ArrayPtr<const capnp::word> words, const MetaHeader& h,
                                   const std::string& path) {
  try {
    capnp::ReaderOptions options;
    // Every word is read once in a message without shared pointers; the
    // bound stops pointer aliasing from multiplying the work.
    options.traversalLimitInWords = 4 * words.size() + 1024;
    options.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(words, options);
    auto r = reader.getRoot<schema::Checkpoint>();
    CheckpointData data;
    if (r.getTraceUuid().size() != data.trace_uuid.size() ||
        std::memcmp(r.getTraceUuid().begin(), h.uuid.data(), h.uuid.size()) != 0)
      return meta_error(path, "the body names another trace than the header");
    data.trace_uuid = h.uuid;
    data.events = r.getEvents();
    data.recorded_time_ns = r.getRecordedTimeNs();
    if (data.events != h.events || data.recorded_time_ns != h.recorded_time_ns)
      return meta_error(path, "the body and the header name different checkpoints");
    auto reader_pos = r.getReader();
    data.reader = ReaderPos{decode_stream_pos(reader_pos.getEvents()),
                            decode_stream_pos(reader_pos.getData()), reader_pos.getEventsRead(),
                            reader_pos.getLastEventNum()};
    data.engine = bytes_of(r.getEngine());
    uint64_t pages = 0;
    for (auto p : r.getProcesses()) {
      auto process = decode_process(p, path);
      if (!process) return process.error();
      pages += process->pages.size();
      data.processes.push_back(std::move(*process));
    }
    if (pages != h.pages)
      return meta_error(path, "the body names " + std::to_string(pages) + " pages, the header " +
                                  std::to_string(h.pages));
    return data;
  } catch (const kj::Exception& e) {
    return meta_error(path, std::string("malformed body: ") + e.getDescription().cStr());
  }
}

}  // namespace

Result<std::vector<uint8_t>> encode_meta(const CheckpointData& data, std::optional<PackId> pack) {
  uint64_t pages = 0;
  for (const CpProcess& p : data.processes) pages += p.pages.size();
  // Page references dominate: 5 words each. One segment of about that size
  // saves growing through many.
  capnp::MallocMessageBuilder message(static_cast<unsigned>(
      std::min<uint64_t>(pages * 5 + 1024, capnp::SUGGESTED_FIRST_SEGMENT_WORDS * uint64_t{1024})));
  auto r = message.initRoot<schema::Checkpoint>();
  r.setTraceUuid(capnp::Data::Reader(data.trace_uuid.data(), data.trace_uuid.size()));
  r.setEvents(data.events);
  r.setRecordedTimeNs(data.recorded_time_ns);
  auto reader = r.initReader();
  reader.getEvents().setBlockOffset(data.reader.events.block_offset);
  reader.getEvents().setInBlock(data.reader.events.in_block);
  reader.getData().setBlockOffset(data.reader.data.block_offset);
  reader.getData().setInBlock(data.reader.data.in_block);
  reader.setEventsRead(data.reader.events_read);
  reader.setLastEventNum(data.reader.last_event_num);
  r.setEngine(data_of(data.engine));
  auto processes = r.initProcesses(static_cast<unsigned>(data.processes.size()));
  for (unsigned i = 0; i < data.processes.size(); ++i)
    encode_process(data.processes[i], processes[i]);
  auto words = capnp::messageToFlatArray(message);
  const auto body = words.asBytes();
  if (body.size() > kMaxBodyBytes) {
    return Error{"checkpoint at event " + std::to_string(data.events) + ": its metadata of " +
                 std::to_string(body.size()) + " bytes is over the limit of " +
                 std::to_string(kMaxBodyBytes)};
  }

  std::vector<uint8_t> out(kMetaHeaderSize + body.size());
  uint8_t* h = out.data();
  std::memcpy(h, kMagic.data(), kMagic.size());
  put_le<uint32_t>(h + 8, kCheckpointFormatVersion);
  put_le<uint32_t>(h + 12, pack ? 1 : 0);
  std::memcpy(h + 16, data.trace_uuid.data(), data.trace_uuid.size());
  put_le<uint64_t>(h + 32, data.events);
  put_le<int64_t>(h + 40, data.recorded_time_ns);
  put_le<uint64_t>(h + 48, pages);
  put_le<uint32_t>(h + 56, pack ? pack->seq : 0);
  put_le<uint64_t>(h + 64, body.size());
  blake2b_of(h + 72, 32, body.begin(), body.size());
  blake2b_of(h + kHeaderSumAt, 8, h, kHeaderSumAt);
  std::memcpy(h + kMetaHeaderSize, body.begin(), body.size());
  return out;
}

Result<MetaHeader> parse_meta_header(const uint8_t* h, size_t len, const std::string& path,
                                     const Uuid& uuid, uint64_t events) {
  if (len < kMagic.size() || std::memcmp(h, kMagic.data(), kMagic.size()) != 0)
    return meta_error(path, "not a rewind checkpoint (bad magic)");
  if (len < kMetaHeaderSize) {
    return meta_error(path, "truncated: the file ends inside its header, after " +
                                std::to_string(len) + " bytes");
  }
  MetaHeader m;
  m.version = get_le<uint32_t>(h + 8);
  if (m.version != kCheckpointFormatVersion) {
    return meta_error(path, "written by checkpoint format version " + std::to_string(m.version) +
                                ", this rewind reads " + std::to_string(kCheckpointFormatVersion));
  }
  uint8_t sum[8];
  blake2b_of(sum, sizeof sum, h, kHeaderSumAt);
  if (std::memcmp(sum, h + kHeaderSumAt, sizeof sum) != 0)
    return meta_error(path, "its header is corrupt (checksum mismatch)");
  std::memcpy(m.uuid.data(), h + 16, m.uuid.size());
  if (m.uuid != uuid) {
    return meta_error(path, "belongs to another trace (uuid " + hex(m.uuid) + "; this trace's is " +
                                hex(uuid) + ")");
  }
  m.events = get_le<uint64_t>(h + 32);
  if (m.events != events) {
    return meta_error(path, "holds the checkpoint at event " + std::to_string(m.events) +
                                ", not the one its name says");
  }
  m.recorded_time_ns = get_le<int64_t>(h + 40);
  m.pages = get_le<uint64_t>(h + 48);
  if (get_le<uint32_t>(h + 12) != 0) m.pack = PackId{m.events, get_le<uint32_t>(h + 56)};
  m.body_length = get_le<uint64_t>(h + 64);
  std::memcpy(m.body_sum.data(), h + 72, m.body_sum.size());
  return m;
}

Result<MetaHeader> read_meta_header(int fd, const std::string& path, const Uuid& uuid,
                                    uint64_t events) {
  uint8_t h[kMetaHeaderSize];
  auto got = pread_full(fd, h, sizeof h, 0, path);
  if (!got) return got.error();
  return parse_meta_header(h, *got, path, uuid, events);
}

Result<CheckpointData> read_meta(const fs::path& path, const Uuid& uuid, uint64_t events) {
  auto fd = open_regular_file(path.string());
  if (!fd) return fd.error();
  auto h = read_meta_header(fd->get(), path.string(), uuid, events);
  if (!h) return h.error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return Error::from_errno("fstat " + path.string());
  if (static_cast<uint64_t>(st.st_size) < kMetaHeaderSize)
    return meta_error(path, "truncated while it was read");
  const uint64_t file_body = static_cast<uint64_t>(st.st_size) - kMetaHeaderSize;
  if (h->body_length > kMaxBodyBytes || h->body_length % sizeof(capnp::word) != 0)
    return meta_error(path, "its header's body length is corrupt");
  if (file_body < h->body_length) {
    return meta_error(path, "truncated: its body has " + std::to_string(file_body) + " of " +
                                std::to_string(h->body_length) + " bytes");
  }
  if (file_body > h->body_length) {
    return meta_error(
        path, "corrupt: " + std::to_string(file_body - h->body_length) + " bytes follow its body");
  }
  auto words = kj::heapArray<capnp::word>(h->body_length / sizeof(capnp::word));
  auto got = pread_full(fd->get(), words.begin(), h->body_length, kMetaHeaderSize, path.string());
  if (!got) return got.error();
  if (*got < h->body_length) return meta_error(path, "truncated while it was read");
  std::array<uint8_t, 32> sum;
  blake2b_of(sum.data(), sum.size(), words.begin(), h->body_length);
  if (sum != h->body_sum) return meta_error(path, "its body is corrupt (checksum mismatch)");
  return decode_body(words, *h, path.string());
}

}  // namespace rwd::trace
