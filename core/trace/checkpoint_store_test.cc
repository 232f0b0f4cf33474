// Unit tests for persistent checkpoints (CheckpointStore.h): round trips,
// deduplication of pages across checkpoints, garbage collection, and every
// way a checkpoint or pack file can be broken that the store promises to
// report rather than misread.
#define BOOST_TEST_MODULE checkpoint_store
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include "core/trace/test_files.h"

#include "core/base/FileIo.h"
#include "core/trace/BlockStream.h"
#include "core/trace/CheckpointFiles.h"
#include "core/trace/CheckpointMeta.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/PackFile.h"

namespace fs = std::filesystem;
using namespace rwd;
using namespace rwd::trace;

// Fails the test case with the Error's message when `expr` (evaluated
// once) is an Error.
#define REQUIRE_OK(expr)                                                                           \
  do {                                                                                             \
    const auto& _result = (expr);                                                                  \
    BOOST_REQUIRE_MESSAGE(_result.ok(), (_result.ok() ? std::string() : _result.error().message)); \
  } while (0)

namespace {

using test::read_file;
using test::write_file;
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("rewind-checkpoint-test") {}
};

using test::check_error;

constexpr Uuid kUuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr Uuid kOtherUuid = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

// A page that compresses somewhat, different for every seed.
std::vector<uint8_t> page(uint32_t seed) {
  std::vector<uint8_t> p(kPageSize);
  std::mt19937 rng(seed);
  for (size_t i = 0; i < kPageSize; ++i) p[i] = i % 8 == 0 ? uint8_t(rng()) : uint8_t(i / 64);
  std::memcpy(p.data(), &seed, sizeof seed);
  return p;
}

// A checkpoint of two processes whose pages hold `seeds` (the first
// process) and `seeds2` (the second); everything else is filled in so
// that a field lost in the round trip shows.
CheckpointData sample(uint64_t events, const std::vector<uint32_t>& seeds,
                      const std::vector<uint32_t>& seeds2 = {7, 8}) {
  CheckpointData d;
  d.events = events;
  d.recorded_time_ns = 1'000'000'007 * static_cast<int64_t>(events);
  d.reader = ReaderPos{{4096 * events, 17}, {8192, events % 5}, events, events + 3};
  d.engine = {1, 2, 3, uint8_t(events)};
  for (int n = 0; n < 2; ++n) {
    CpProcess p;
    p.rec_tgid = 1000 + n;
    p.mappings.push_back({0x400000, 0x500000, 5, 2, 0x1000, "files/a.out-1", "/bin/a.out", 0});
    p.mappings.push_back({0x7f0000000000, 0x7f0000100000, 3, 0x21, 0, "", "[heap]", 42});
    const auto& s = n == 0 ? seeds : seeds2;
    for (size_t i = 0; i < s.size(); ++i)
      p.pages.push_back({0x7f0000000000 + i * kPageSize, hash_page(page(s[i]).data())});
    CpThread t;
    t.rec_tid = 1000 + n;
    t.regs.assign(216, uint8_t(n + 1));
    t.xstate.assign(1088, uint8_t(n + 2));
    t.sigmask = 0x8000 + n;
    t.altstack = {9, 9, 9};
    t.engine = {5, 4, uint8_t(n)};
    p.threads.push_back(t);
    t.rec_tid = 2000 + n;
    t.altstack.clear();
    p.threads.push_back(t);
    p.sigactions.push_back({11, std::vector<uint8_t>(32, 0xaa)});
    p.mm_layout = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    p.engine = {uint8_t(n), 0xff};
    d.processes.push_back(std::move(p));
  }
  return d;
}

// Saves `d`, adding the pages its process hold (`seeds`, `seeds2` as in
// sample()); returns d as the store keeps it.
CheckpointInfo save(CheckpointStore& store, CheckpointData& d, const std::vector<uint32_t>& seeds,
                    const std::vector<uint32_t>& seeds2 = {7, 8}) {
  auto w = store.begin();
  REQUIRE_OK(w);
  for (const auto* s : {&seeds, &seeds2}) {
    for (uint32_t seed : *s) {
      auto h = (*w)->add_page(page(seed).data());
      REQUIRE_OK(h);
      BOOST_REQUIRE(*h == hash_page(page(seed).data()));
    }
  }
  auto info = (*w)->commit(d);
  REQUIRE_OK(info);
  d.trace_uuid = kUuid;
  return *info;
}

std::vector<uint32_t> range(uint32_t from, uint32_t to) {
  std::vector<uint32_t> v;
  for (uint32_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

std::unique_ptr<CheckpointStore> open_store(const fs::path& dir, const Uuid& uuid = kUuid) {
  auto s = CheckpointStore::open(dir, uuid);
  REQUIRE_OK(s);
  return std::move(*s);
}

fs::path meta_path(const fs::path& dir, uint64_t events) {
  return dir / "checkpoints" / meta_file_name(events);
}
fs::path pack_path(const fs::path& dir, uint64_t events) {
  return dir / "checkpoints" / pack_file_name(PackId{events, 0});
}

// The pages a pack on disk holds, by its own index.
size_t pack_pages(const fs::path& path) {
  auto fd = open_regular_file(path.string());
  REQUIRE_OK(fd);
  auto index = read_pack_index(fd->get(), path.string(), kUuid);
  REQUIRE_OK(index);
  return index->pages.size();
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

void check_pages_read_back(const CheckpointStore& store, const std::vector<uint32_t>& seeds) {
  std::vector<uint8_t> out(kPageSize);
  for (uint32_t seed : seeds) {
    const auto want = page(seed);
    auto r = store.read_page(hash_page(want.data()), out.data());
    REQUIRE_OK(r);
    BOOST_REQUIRE(out == want);
  }
}

std::string flip(std::string s, size_t at) {
  s.at(at) ^= 0x40;
  return s;
}

// A pack of a store shared by traces, as `rewind pack --pack-dir` writes
// one: `seeds`' pages, no trace's uuid, named by the hash of its bytes.
fs::path write_shared_pack(const fs::path& store, const std::vector<uint32_t>& seeds,
                           const Uuid& uuid = kSharedPackUuid) {
  auto b = PackBuilder::create(store, uuid);
  REQUIRE_OK(b);
  for (uint32_t seed : seeds) REQUIRE_OK(b->add(hash_page(page(seed).data()), page(seed).data()));
  REQUIRE_OK(b->finish());
  const std::string bytes = read_file(b->file().path());
  ContentHash h;
  blake2b_of(h.data(), h.size(), bytes.data(), bytes.size());
  const fs::path path = store / pack_file_name(PackId(h));
  REQUIRE_OK(b->file().commit(path, TempFile::Replace::No));
  return path;
}

nlink_t links_of(const fs::path& path) {
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_nlink;
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_and_dedup) {
  TempDir t;
  auto store = open_store(t.path);
  BOOST_TEST(store->list().empty());
  BOOST_TEST(!store->at_or_before(1000).has_value());
  BOOST_TEST(!fs::exists(t.path / "checkpoints"));  // opening creates nothing

  // 200 pages, and the second process shares two of them: 200 stored.
  const auto seeds1 = range(0, 200);
  CheckpointData d1 = sample(100, seeds1, {3, 199, 5000});
  CheckpointInfo i1 = save(*store, d1, seeds1, {3, 199, 5000});
  BOOST_TEST(i1.events == 100u);
  BOOST_TEST(i1.pages == 203u);
  BOOST_TEST(i1.recorded_time_ns == d1.recorded_time_ns);
  BOOST_TEST(i1.path == meta_path(t.path, 100));
  BOOST_TEST(i1.meta_bytes == fs::file_size(meta_path(t.path, 100)));
  BOOST_TEST(i1.pack_bytes == fs::file_size(pack_path(t.path, 100)));
  BOOST_TEST(pack_pages(pack_path(t.path, 100)) == 201u);
  BOOST_TEST(((fs::status(t.path / "checkpoints").permissions() & fs::perms::all) ==
              fs::perms::owner_all));

  // The second shares all but five: its pack holds those five.
  auto seeds2 = seeds1;
  for (uint32_t i = 0; i < 5; ++i) seeds2[i * 40] = 10000 + i;
  CheckpointData d2 = sample(200, seeds2, {3, 199, 5000});
  CheckpointInfo i2 = save(*store, d2, seeds2, {3, 199, 5000});
  BOOST_TEST(pack_pages(pack_path(t.path, 200)) == 5u);
  BOOST_TEST(i2.pack_bytes == fs::file_size(pack_path(t.path, 200)));
  BOOST_TEST(i2.pack_bytes * 20 < i1.pack_bytes);

  // A third adds nothing new: no pack at all.
  CheckpointData d3 = sample(300, seeds2, {3, 199, 5000});
  CheckpointInfo i3 = save(*store, d3, seeds2, {3, 199, 5000});
  BOOST_TEST(i3.pack_bytes == 0u);
  BOOST_TEST(!fs::exists(pack_path(t.path, 300)));

  auto check = [&](const CheckpointStore& s) {
    for (const CheckpointData* d : {&d1, &d2, &d3}) {
      auto loaded = s.load(d->events);
      REQUIRE_OK(loaded);
      BOOST_TEST((*loaded == *d));
    }
    check_pages_read_back(s, seeds1);
    check_pages_read_back(s, seeds2);
    check_pages_read_back(s, {5000});
    auto list = s.list();
    BOOST_REQUIRE_EQUAL(list.size(), 3u);
    BOOST_TEST(list[0].events == 100u);
    BOOST_TEST(list[1].events == 200u);
    BOOST_TEST(list[2].events == 300u);
    BOOST_TEST(list[1].pages == 203u);
    BOOST_TEST(list[1].recorded_time_ns == d2.recorded_time_ns);
    BOOST_TEST(list[0].pack_bytes == i1.pack_bytes);
    BOOST_TEST(list[1].pack_bytes == i2.pack_bytes);
    BOOST_TEST(list[2].pack_bytes == 0u);
    BOOST_TEST(list[2].meta_bytes == i3.meta_bytes);
    BOOST_TEST(s.at_or_before(250)->events == 200u);
    BOOST_TEST(s.at_or_before(300)->events == 300u);
    BOOST_TEST(s.at_or_before(1u << 30)->events == 300u);
    BOOST_TEST(!s.at_or_before(99).has_value());
  };
  check(*store);
  auto reopened = open_store(t.path);
  check(*reopened);

  // A reopened store dedups against what is on disk.
  CheckpointData d4 = sample(400, seeds1);
  CheckpointInfo i4 = save(*reopened, d4, seeds1);
  BOOST_TEST(i4.pack_bytes == 0u);
  // Nothing but metas and packs is left behind.
  BOOST_TEST((files_in(t.path / "checkpoints") ==
              std::set<std::string>{meta_file_name(100), meta_file_name(200), meta_file_name(300),
                                    meta_file_name(400), pack_file_name({100, 0}),
                                    pack_file_name({200, 0})}));
}

BOOST_AUTO_TEST_CASE(many_blocks_and_empty_checkpoint) {
  TempDir t;
  auto store = open_store(t.path);
  // 1000 pages: 16 blocks, the last one partial.
  const auto seeds = range(0, 1000);
  CheckpointData d = sample(5, seeds, {});
  save(*store, d, seeds, {});
  BOOST_TEST(pack_pages(pack_path(t.path, 5)) == 1000u);
  auto reopened = open_store(t.path);
  // In reverse, so that the block cache misses.
  auto reversed = seeds;
  std::reverse(reversed.begin(), reversed.end());
  check_pages_read_back(*reopened, reversed);
  // A checkpoint without processes or pages is still a checkpoint.
  CheckpointData empty;
  empty.events = 0;
  auto w = reopened->begin();
  REQUIRE_OK(w);
  auto info = (*w)->commit(empty);
  REQUIRE_OK(info);
  empty.trace_uuid = kUuid;
  auto loaded = reopened->load(0);
  REQUIRE_OK(loaded);
  BOOST_TEST((*loaded == empty));
}

BOOST_AUTO_TEST_CASE(writer_rules) {
  TempDir t;
  auto store = open_store(t.path);
  {
    auto w = store->begin();
    REQUIRE_OK(w);
    for (uint32_t s = 0; s < 150; ++s) REQUIRE_OK((*w)->add_page(page(s).data()));
    // Two blocks went out to the temporary pack already.
    BOOST_TEST(files_in(t.path / "checkpoints").size() == 1u);
    check_error(store->begin(), {"being saved already"});
  }  // dropped without commit()
  BOOST_TEST(files_in(t.path / "checkpoints").empty());
  BOOST_TEST(store->list().empty());
  std::vector<uint8_t> out(kPageSize);
  check_error(store->read_page(hash_page(page(1).data()), out.data()), {"in no pack"});

  auto w = store->begin();
  REQUIRE_OK(w);
  REQUIRE_OK((*w)->add_page(page(1).data()));
  // A checkpoint that names a page nobody added is refused.
  CheckpointData d = sample(10, {1, 2}, {});
  check_error((*w)->commit(d), {"event 10", "never added", "0x7f0000001000", "process 1000"});
  check_error((*w)->add_page(page(3).data()), {"after commit"});
  w->reset();
  BOOST_TEST(files_in(t.path / "checkpoints").empty());
  check_error(store->load(10), {"no checkpoint at event 10"});
  check_error(store->remove(10), {"no checkpoint at event 10"});
}

BOOST_AUTO_TEST_CASE(remove_collects_packs_no_checkpoint_needs) {
  TempDir t;
  auto store = open_store(t.path);
  // 100: P0..9 (pack 100). 200: P0..4 Q0..4 (pack 200 holds Q).
  // 300: Q0..4 R (pack 300 holds R).
  const std::vector<uint32_t> a = range(0, 10), b = {0, 1, 2, 3, 4, 100, 101, 102, 103, 104},
                              c = {100, 101, 102, 103, 104, 200};
  CheckpointData d1 = sample(100, a, {}), d2 = sample(200, b, {}), d3 = sample(300, c, {});
  save(*store, d1, a, {});
  save(*store, d2, b, {});
  save(*store, d3, c, {});
  const auto dir = t.path / "checkpoints";
  auto packs = [&] {
    std::set<uint64_t> on_disk;
    for (const auto& name : files_in(dir))
      if (auto id = parse_pack_file_name(name)) on_disk.insert(id->events);
    return on_disk;
  };
  BOOST_TEST((packs() == std::set<uint64_t>{100, 200, 300}));

  REQUIRE_OK(store->remove(200));  // every pack is still needed
  BOOST_TEST(!fs::exists(meta_path(t.path, 200)));
  BOOST_TEST((packs() == std::set<uint64_t>{100, 200, 300}));
  BOOST_TEST(store->list().size() == 2u);

  REQUIRE_OK(store->remove(100));  // pack 100 held only what 100 (and 200) needed
  BOOST_TEST((packs() == std::set<uint64_t>{200, 300}));
  auto loaded = store->load(300);
  REQUIRE_OK(loaded);
  BOOST_TEST((*loaded == d3));
  check_pages_read_back(*store, c);
  auto reopened = open_store(t.path);
  check_pages_read_back(*reopened, c);

  // A Writer in progress holds on to the pages it deduplicated.
  {
    auto w = store->begin();
    REQUIRE_OK(w);
    for (uint32_t s : c) REQUIRE_OK((*w)->add_page(page(s).data()));
    REQUIRE_OK(store->remove(300));
    BOOST_TEST((packs() == std::set<uint64_t>{200, 300}));
    CheckpointData d5 = sample(500, c, {});
    REQUIRE_OK((*w)->commit(d5));
  }
  check_pages_read_back(*store, c);
  REQUIRE_OK(store->remove(500));
  BOOST_TEST(packs().empty());
  BOOST_TEST(files_in(dir).empty());
  check_error(store->remove(500), {"no checkpoint at event 500", dir.string()});
}

BOOST_AUTO_TEST_CASE(remove_keeps_packs_when_a_checkpoint_is_unreadable) {
  TempDir t;
  auto store = open_store(t.path);
  const auto a = range(0, 10), b = range(50, 60);
  CheckpointData d1 = sample(100, a, {}), d2 = sample(200, b, {}), d3 = sample(300, a, {});
  save(*store, d1, a, {});
  save(*store, d2, b, {});
  save(*store, d3, a, {});
  const std::string m3 = read_file(meta_path(t.path, 300));
  write_file(meta_path(t.path, 300), flip(m3, m3.size() - 3));
  // Pack 200 is needed by nobody readable, but 300 might need it.
  REQUIRE_OK(store->remove(200));
  BOOST_TEST(fs::exists(pack_path(t.path, 200)));
  BOOST_TEST(fs::exists(pack_path(t.path, 100)));
  // Repaired, it lets the pack go.
  write_file(meta_path(t.path, 300), m3);
  REQUIRE_OK(store->remove(100));
  BOOST_TEST(!fs::exists(pack_path(t.path, 200)));
  BOOST_TEST(fs::exists(pack_path(t.path, 100)));  // 300 uses its pages
  auto loaded = store->load(300);
  REQUIRE_OK(loaded);
  BOOST_TEST((*loaded == d3));
}

// Saving again at an event whose pack outlived its checkpoint: the new
// pack takes the next name, and neither checkpoint's pages are lost.
BOOST_AUTO_TEST_CASE(saving_again_at_the_same_event) {
  TempDir t;
  auto store = open_store(t.path);
  const std::vector<uint32_t> a = range(0, 10), b = {0, 1, 20}, c = {0, 30};
  CheckpointData d1 = sample(100, a, {}), d2 = sample(200, b, {}), d1b = sample(100, c, {});
  save(*store, d1, a, {});
  save(*store, d2, b, {});
  REQUIRE_OK(store->remove(100));  // pack 100 stays: 200 needs pages 0 and 1
  BOOST_TEST(fs::exists(pack_path(t.path, 100)));
  CheckpointInfo info = save(*store, d1b, c, {});
  const fs::path second = t.path / "checkpoints" / pack_file_name({100, 1});
  BOOST_TEST(pack_pages(second) == 1u);
  BOOST_TEST(info.pack_bytes == fs::file_size(second));
  auto reopened = open_store(t.path);
  auto loaded = reopened->load(100);
  REQUIRE_OK(loaded);
  BOOST_TEST((*loaded == d1b));
  BOOST_TEST(reopened->list()[0].pack_bytes == info.pack_bytes);
  check_pages_read_back(*reopened, {0, 1, 20, 30});
}

// A trace packed into a shared page store: its own packs are gone, and
// its checkpoints/ holds hard links to the store's packs, which carry no
// trace's uuid. It opens, loads, reads, saves and collects garbage as
// before; removing a link leaves the store's copy.
BOOST_AUTO_TEST_CASE(shared_store_packs_linked_into_a_trace) {
  TempDir t;
  const fs::path trace = t.path / "trace", store = t.path / "store";
  fs::create_directories(trace);
  fs::create_directories(store);
  const auto a = range(0, 100), b = range(50, 130);  // two blocks and more
  CheckpointData d1 = sample(100, a, {}), d2 = sample(200, b, {});
  {
    auto s = open_store(trace);
    save(*s, d1, a, {});
    save(*s, d2, b, {});
  }
  // Pages 0..79 in one store pack (another trace's, say), 80..129 in a
  // second, both linked into the trace in place of its own packs.
  const fs::path first = write_shared_pack(store, range(0, 80));
  const fs::path second = write_shared_pack(store, range(80, 130));
  const fs::path dir = trace / "checkpoints";
  for (const fs::path& p : {first, second}) fs::create_hard_link(p, dir / p.filename());
  fs::remove(pack_path(trace, 100));
  fs::remove(pack_path(trace, 200));
  BOOST_TEST(links_of(first) == 2u);

  auto s = open_store(trace);
  for (const CheckpointData* d : {&d1, &d2}) {
    auto loaded = s->load(d->events);
    REQUIRE_OK(loaded);
    BOOST_TEST((*loaded == *d));
  }
  check_pages_read_back(*s, range(0, 130));
  auto in_use = s->pages_in_use();
  REQUIRE_OK(in_use);
  BOOST_TEST(in_use->size() == 130u);
  BOOST_TEST((in_use->front() == hash_page(page(0).data())));
  BOOST_TEST((in_use->back() == hash_page(page(129).data())));

  // Saving dedups against the links: nothing new, no pack.
  CheckpointData d3 = sample(300, range(10, 70), {});
  CheckpointInfo i3 = save(*s, d3, range(10, 70), {});
  BOOST_TEST(i3.pack_bytes == 0u);

  // 100 goes: every link is still needed. Then 200: the second store
  // pack's link goes (300 needs only 10..69), the first stays; then 300,
  // and the first goes too. The store keeps both.
  REQUIRE_OK(s->remove(100));
  BOOST_TEST(fs::exists(dir / first.filename()));
  BOOST_TEST(fs::exists(dir / second.filename()));
  REQUIRE_OK(s->remove(200));
  BOOST_TEST(fs::exists(dir / first.filename()));
  BOOST_TEST(!fs::exists(dir / second.filename()));
  BOOST_TEST(links_of(second) == 1u);
  REQUIRE_OK(s->remove(300));
  BOOST_TEST(files_in(dir).empty());
  BOOST_TEST(links_of(first) == 1u);
  BOOST_TEST((files_in(store) ==
              std::set<std::string>{first.filename().string(), second.filename().string()}));
}

// A shared pack is read only under its content name, and a content-named
// pack must be shared or the trace's own: anything else is skipped as
// another trace's.
BOOST_AUTO_TEST_CASE(shared_packs_only_under_content_names) {
  TempDir t;
  const fs::path store = t.path / "store";
  fs::create_directories(store);
  const fs::path shared = write_shared_pack(store, range(0, 10));
  {
    auto fd = open_regular_file(shared.string());
    REQUIRE_OK(fd);
    REQUIRE_OK(read_pack_index(fd->get(), shared.string(), kUuid, SharedPack::Accept));
    check_error(read_pack_index(fd->get(), shared.string(), kUuid),
                {shared.string(), "store shared by traces", "pages-h"});
  }
  CheckpointData d = sample(100, range(0, 10), {});
  auto with_pack = [&](const fs::path& pack, const std::string& name) {
    const fs::path trace = t.path / ("trace-" + name);
    fs::create_directories(trace);
    {
      auto s = open_store(trace);
      save(*s, d, range(0, 10), {});
    }
    fs::remove(pack_path(trace, 100));
    fs::copy_file(pack, trace / "checkpoints" / name);
    return open_store(trace)->load(100);
  };
  REQUIRE_OK(with_pack(shared, shared.filename().string()));
  check_error(with_pack(shared, pack_file_name({100, 0})), {"in no pack"});
  const fs::path foreign = write_shared_pack(store, range(0, 10), kOtherUuid);
  check_error(with_pack(foreign, foreign.filename().string()), {"in no pack"});
  const fs::path own = write_shared_pack(store, range(0, 10), kUuid);
  REQUIRE_OK(with_pack(own, own.filename().string()));
}

BOOST_AUTO_TEST_CASE(pages_in_use_needs_every_checkpoint) {
  TempDir t;
  auto s = open_store(t.path);
  CheckpointData d1 = sample(100, {5, 6, 7}, {6, 8}), d2 = sample(200, {7, 9}, {});
  save(*s, d1, {5, 6, 7}, {6, 8});
  save(*s, d2, {7, 9}, {});
  auto in_use = s->pages_in_use();
  REQUIRE_OK(in_use);
  std::vector<PageHash> want;
  for (uint32_t seed : {5, 6, 7, 8, 9}) want.push_back(hash_page(page(seed).data()));
  BOOST_TEST((*in_use == want));
  const std::string m = read_file(meta_path(t.path, 200));
  write_file(meta_path(t.path, 200), flip(m, m.size() - 3));
  check_error(open_store(t.path)->pages_in_use(), {meta_path(t.path, 200).string()});
}

BOOST_AUTO_TEST_CASE(broken_meta_files) {
  TempDir t;
  const fs::path trace = t.path / "trace";
  fs::create_directory(trace);
  auto store = open_store(trace);
  const auto a = range(0, 10);
  CheckpointData d = sample(100, a, {});
  save(*store, d, a, {});
  const fs::path meta = meta_path(trace, 100);
  const std::string good = read_file(meta);
  BOOST_REQUIRE_GT(good.size(), kMetaHeaderSize + 100);
  auto load_with = [&](const std::string& bytes) {
    write_file(meta, bytes);
    return open_store(trace)->load(100);
  };

  check_error(load_with(flip(good, kMetaHeaderSize + 50)), {meta.string(), "corrupt", "checksum"});
  check_error(load_with(flip(good, 40)), {meta.string(), "header is corrupt"});
  check_error(load_with(good.substr(0, good.size() - 8)), {meta.string(), "truncated"});
  check_error(load_with(good.substr(0, 60)), {meta.string(), "truncated"});
  check_error(load_with(""), {meta.string(), "not a rewind checkpoint"});
  check_error(load_with(good + "extra..."), {meta.string(), "follow its body"});
  check_error(load_with(flip(good, 0)), {meta.string(), "not a rewind checkpoint"});
  std::string newer = good;
  newer[8] = static_cast<char>(kCheckpointFormatVersion + 1);
  check_error(load_with(newer), {meta.string(), "written by checkpoint format version " +
                                                    std::to_string(kCheckpointFormatVersion + 1) +
                                                    ", this rewind reads " +
                                                    std::to_string(kCheckpointFormatVersion)});
  // A broken checkpoint still shows in the list, and fails only in load().
  write_file(meta, flip(good, 40));
  auto listed = open_store(trace)->list();
  BOOST_REQUIRE_EQUAL(listed.size(), 1u);
  BOOST_TEST(listed[0].events == 100u);
  write_file(meta, good);
  REQUIRE_OK(open_store(trace)->load(100));

  // Under another event's name.
  fs::copy_file(meta, meta_path(trace, 150));
  check_error(open_store(trace)->load(150), {meta_path(trace, 150).string(), "event 100"});
  fs::remove(meta_path(trace, 150));

  // In another trace: the whole checkpoints directory copied.
  const fs::path other = t.path / "other";
  fs::create_directory(other);
  fs::copy(trace / "checkpoints", other / "checkpoints");
  auto other_store = open_store(other, kOtherUuid);  // the pack is skipped, with a warning
  check_error(other_store->load(100),
              {meta_path(other, 100).string(), "belongs to another trace", hex(kUuid)});
  BOOST_TEST(other_store->list().size() == 1u);

  // A pack missing: load says so, naming a page.
  fs::remove(pack_path(trace, 100));
  check_error(open_store(trace)->load(100),
              {meta.string(), "10 of its pages", "0x7f0000000000", "in no pack"});
}

BOOST_AUTO_TEST_CASE(broken_pack_files) {
  TempDir t;
  auto store = open_store(t.path);
  const auto a = range(0, 100);  // two blocks
  CheckpointData d = sample(100, a, {});
  save(*store, d, a, {});
  const fs::path pack = pack_path(t.path, 100);
  const std::string good = read_file(pack);
  std::vector<uint8_t> out(kPageSize);
  auto hash_of = [](uint32_t seed) { return hash_page(page(seed).data()); };

  // A byte flipped in the first block's compressed data: its pages fail,
  // the other block's read, and load() works (the index is intact).
  write_file(pack, flip(good, 32 + kBlockHeaderSize + 100));
  {
    auto s = open_store(t.path);
    REQUIRE_OK(s->load(100));
    check_error(s->read_page(hash_of(3), out.data()),
                {pack.string(), "block 0", "checksum mismatch"});
    REQUIRE_OK(s->read_page(hash_of(70), out.data()));
    BOOST_TEST((out == page(70)));
  }

  // Truncated anywhere: the pack is skipped, and load() names the damage.
  for (size_t cut : {size_t{0}, size_t{10}, size_t{40}, good.size() / 2, good.size() - 1}) {
    write_file(pack, good.substr(0, cut));
    auto s = open_store(t.path);
    check_error(s->load(100), {"in no pack"});
    check_error(s->read_page(hash_of(3), out.data()), {"in no pack"});
  }

  // The index corrupt, or of another version.
  const uint64_t index_at =
      get_le<uint64_t>(reinterpret_cast<const uint8_t*>(good.data()) + good.size() - 32);
  write_file(pack, flip(good, index_at + 9));
  check_error(open_store(t.path)->load(100), {"in no pack"});
  std::string newer = good;
  newer[8] = static_cast<char>(kCheckpointFormatVersion + 1);
  write_file(pack, newer);
  check_error(open_store(t.path)->load(100), {"in no pack"});
  write_file(pack, good);
  REQUIRE_OK(open_store(t.path)->load(100));
}

// A pack whose index names the wrong page for a hash (a bug, or a hostile
// file with valid checksums): read_page checks the page against its hash.
BOOST_AUTO_TEST_CASE(read_page_checks_the_hash) {
  TempDir t;
  const fs::path dir = t.path / "checkpoints";
  fs::create_directory(dir);
  auto b = PackBuilder::create(dir, kUuid);
  REQUIRE_OK(b);
  REQUIRE_OK(b->add(hash_page(page(1).data()), page(2).data()));
  REQUIRE_OK(b->finish());
  REQUIRE_OK(b->file().commit(dir / pack_file_name({1, 0}), TempFile::Replace::No));
  auto store = open_store(t.path);
  std::vector<uint8_t> out(kPageSize);
  check_error(store->read_page(hash_page(page(1).data()), out.data()),
              {"does not match its hash", "corrupt"});
}

// Whatever bytes sit in files named like checkpoints and packs, the store
// opens, lists, loads and reads with Errors, never a crash. Some keep their
// checksums valid, so that the Cap'n Proto decoding sees the damage.
BOOST_AUTO_TEST_CASE(garbage_files_never_crash) {
  TempDir t;
  const fs::path dir = t.path / "checkpoints";
  const auto a = range(0, 70);
  {
    auto store = open_store(t.path);
    CheckpointData d = sample(100, a, {1, 500});
    save(*store, d, a, {1, 500});
  }
  const std::string meta = read_file(meta_path(t.path, 100));
  const std::string pack = read_file(pack_path(t.path, 100));
  std::mt19937 rng(4242);
  auto rand_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  // Mutates a few bytes in [from, to) of `s`.
  auto mutate = [&](std::string s, size_t from, size_t to) {
    for (int k = 0; k < 3; ++k) s[from + rng() % (to - from)] = static_cast<char>(rng());
    return s;
  };
  auto reseal_meta = [&](std::string s) {
    auto* h = reinterpret_cast<uint8_t*>(s.data());
    blake2b_of(h + 72, 32, h + kMetaHeaderSize, s.size() - kMetaHeaderSize);
    blake2b_of(h + 104, 8, h, 104);
    return s;
  };
  auto reseal_pack = [&](std::string s) {
    auto* p = reinterpret_cast<uint8_t*>(s.data());
    const uint64_t at = get_le<uint64_t>(p + s.size() - 32);
    const uint64_t len = get_le<uint64_t>(p + s.size() - 24);
    if (at + len + 32 == s.size()) blake2b_of(p + s.size() - 16, 8, p + at, len);
    return s;
  };
  const uint64_t index_at =
      get_le<uint64_t>(reinterpret_cast<const uint8_t*>(pack.data()) + pack.size() - 32);
  size_t loaded = 0;
  std::vector<uint8_t> out(kPageSize);
  size_t malformed = 0;
  for (int round = 0; round < 600; ++round) {
    fs::remove_all(dir);
    fs::create_directory(dir);
    // Mostly one file broken at a time, so that the other's checks pass
    // and the broken one is looked at closely.
    std::string m = meta, p = pack;
    switch (round % 6) {
      case 0:
        m = rand_bytes(rng() % 300);
        p = rand_bytes(rng() % 300);
        break;
      case 1:
        (round % 12 < 6 ? m : p) = (round % 12 < 6 ? meta : pack).substr(0, rng() % meta.size());
        break;
      case 2:
        m = mutate(meta, 0, meta.size());
        p = mutate(pack, 0, pack.size());
        break;
      case 3:
        m = reseal_meta(mutate(meta, kMetaHeaderSize, meta.size()));
        break;
      case 4:
        p = reseal_pack(mutate(pack, index_at, pack.size() - 32));
        break;
      case 5:
        m = reseal_meta(meta.substr(0, kMetaHeaderSize) + rand_bytes(8 * (rng() % 64)));
        p = mutate(pack, 32, index_at);
        break;
    }
    write_file(dir / meta_file_name(100), m);
    write_file(dir / pack_file_name({100, 0}), p);
    write_file(dir / meta_file_name(7), rand_bytes(rng() % 200));
    write_file(dir / pack_file_name({7, 0}), rand_bytes(rng() % 200));
    auto store = CheckpointStore::open(t.path, kUuid);
    REQUIRE_OK(store);
    BOOST_TEST((*store)->list().size() == 2u);
    for (uint64_t events : {7u, 100u}) {
      auto d = (*store)->load(events);
      if (!d.ok()) {
        malformed += d.error().message.find("malformed") != std::string::npos;
        continue;
      }
      ++loaded;
      for (const CpProcess& proc : d->processes)
        for (const CpPage& pg : proc.pages) (void)(*store)->read_page(pg.hash, out.data());
    }
    for (uint32_t s : a) {
      if ((*store)->read_page(hash_page(page(s).data()), out.data()).ok())
        BOOST_REQUIRE(out == page(s));  // a page read is always the right page
    }
    REQUIRE_OK((*store)->remove(7));
  }
  BOOST_TEST_MESSAGE("loaded " << loaded << " checkpoints; " << malformed
                               << " were refused as malformed by Cap'n Proto");
  BOOST_TEST(loaded > 0u);
  BOOST_TEST(malformed > 0u);
}

BOOST_AUTO_TEST_CASE(stale_temp_files_are_ignored) {
  TempDir t;
  const fs::path dir = t.path / "checkpoints";
  fs::create_directory(dir);
  // A writer that is gone (pid 0x7ffffff0 is above pid_max on Linux) and
  // one that is alive (this process).
  write_file(dir / ".tmp-pages-2147483632-abcdef", "half a pack");
  const std::string live = ".tmp-meta-" + std::to_string(::getpid()) + "-abcdef";
  write_file(dir / live, "half a meta");
  auto store = open_store(t.path);
  BOOST_TEST(store->list().empty());
  BOOST_TEST((files_in(dir) == std::set<std::string>{live}));
}

BOOST_AUTO_TEST_CASE(file_names) {
  BOOST_TEST(meta_file_name(42) == "cp-00000000000000000042.meta");
  BOOST_TEST(*parse_meta_file_name("cp-00000000000000000042.meta") == 42u);
  BOOST_TEST(*parse_meta_file_name("cp-18446744073709551615.meta") == UINT64_MAX);
  for (const char* bad :
       {"cp-42.meta", "cp-00000000000000000042.met", "cp-000000000000000000042.meta",
        "cp-99999999999999999999.meta", "cp--0000000000000000042.meta", ""})
    BOOST_TEST(!parse_meta_file_name(bad).has_value(), bad);
  BOOST_TEST(pack_file_name({42, 0}) == "pages-00000000000000000042.pack");
  BOOST_TEST(pack_file_name({42, 3}) == "pages-00000000000000000042-3.pack");
  BOOST_TEST((*parse_pack_file_name("pages-00000000000000000042-3.pack") == PackId{42, 3}));
  BOOST_TEST((*parse_pack_file_name("pages-00000000000000000042.pack") == PackId{42, 0}));
  for (const char* bad : {"pages-00000000000000000042-0.pack", "pages-00000000000000000042-.pack",
                          "pages-0000000000000000042.pack", "pages-00000000000000000042.pack.x"})
    BOOST_TEST(!parse_pack_file_name(bad).has_value(), bad);

  // A shared store's pack, named by its content.
  ContentHash h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 37 + 250);
  const std::string digits = hex(h.data(), h.size());
  BOOST_TEST(pack_file_name(PackId(h)) == "pages-h" + digits + ".pack");
  auto parsed = parse_pack_file_name("pages-h" + digits + ".pack");
  BOOST_REQUIRE(parsed.has_value());
  BOOST_TEST((parsed->content == h));
  BOOST_TEST((*parsed == PackId(h)));
  BOOST_TEST((*parsed != PackId{0, 0}));
  std::string upper = digits;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_REQUIRE(upper != digits);
  for (const std::string& bad :
       {"pages-h" + digits.substr(1) + ".pack", "pages-h" + digits + "0.pack",
        "pages-h" + upper + ".pack", "pages-h" + digits.substr(0, 63) + "g.pack",
        std::string("pages-h.pack"), "pages-h" + digits + "-1.pack", "pages-h" + digits + ".pack.x",
        "pages-" + digits + ".pack"})
    BOOST_TEST(!parse_pack_file_name(bad).has_value(), bad);
}
