// Unit tests for what the recorder keeps between recordings: the scan store
// (core/task/FileScanStore.h) and the two caches built on it, the rdtsc and
// cpuid sites (core/task/TrapPatch.h) and the syscall sites of the preload
// library's patching (SyscallSiteCache.h).
#define BOOST_TEST_MODULE record
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/base/Fd.h"
#include "core/base/ScratchDir.h"
#include "core/record/SyscallSiteCache.h"
#include "core/task/FileScanStore.h"
#include "core/task/TrapPatch.h"

using namespace rwd;
namespace fs = std::filesystem;

namespace {

ScratchDir scratch() {
  auto d = ScratchDir::create("rewind-record-test");
  BOOST_REQUIRE(d.ok());
  return std::move(*d);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spill(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

// The C library this test runs with: a real file with hundreds of sites.
std::string libc_path() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("/libc.so") == std::string::npos) return 0;
        *static_cast<std::string*>(out) = name;
        return 1;
      },
      &found);
  BOOST_REQUIRE(!found.empty());
  return found;
}

const FileId kFile{1, 2, 3, 4};

struct OpenFile {
  ScopedFd fd;
  struct stat st {};
};

OpenFile open_file(const std::string& path) {
  OpenFile f{ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC))};
  BOOST_REQUIRE_MESSAGE(f.fd.is_open(), "open " << path);
  BOOST_REQUIRE(fstat(f.fd.get(), &f.st) == 0);
  return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(store_gives_back_what_it_kept) {
  ScratchDir dir = scratch();
  const fs::path cache = dir.path() / "a" / "b";
  FileScanStore store(cache.string());
  BOOST_TEST(!store.load("kind", kFile).has_value());
  store.store("kind", kFile, std::string("payload\0with nul", 16));
  auto back = store.load("kind", kFile);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(*back == std::string("payload\0with nul", 16));
  // Kept from other users: the directories it made are the owner's alone.
  BOOST_TEST(((fs::status(cache).permissions() & fs::perms::all) == fs::perms::owner_all));
  // Another kind, another file: nothing.
  BOOST_TEST(!store.load("other", kFile).has_value());
  BOOST_TEST(!store.load("kind", FileId{1, 2, 3, 5}).has_value());
}

BOOST_AUTO_TEST_CASE(store_ignores_damaged_and_foreign_files) {
  ScratchDir dir = scratch();
  FileScanStore store(dir.path().string());
  store.store("kind", kFile, "some payload");
  fs::path file;
  for (const auto& e : fs::directory_iterator(dir.path())) file = e.path();
  BOOST_REQUIRE(!file.empty());
  const std::string good = slurp(file);

  for (size_t at : {size_t{0}, size_t{9}, size_t{30}, good.size() - 20, good.size() - 1}) {
    std::string bad = good;
    bad[at] ^= 0x40;
    spill(file, bad);
    BOOST_TEST(!store.load("kind", kFile).has_value(), "a flipped byte at " << at);
  }
  for (size_t len : {size_t{0}, size_t{10}, good.size() - 1}) {
    spill(file, good.substr(0, len));
    BOOST_TEST(!store.load("kind", kFile).has_value(), "cut to " << len);
  }
  spill(file, good + "x");
  BOOST_TEST(!store.load("kind", kFile).has_value());
  // Well formed, but another file's scan put in this one's place.
  spill(file, FileScanStore::encode("kind", FileId{9, 9, 9, 9}, "some payload"));
  BOOST_TEST(!store.load("kind", kFile).has_value());
  // A FIFO in its place: refused, not read or waited on.
  fs::remove(file);
  BOOST_REQUIRE(mkfifo(file.c_str(), 0600) == 0);
  BOOST_TEST(!store.load("kind", kFile).has_value());
  // And written again over whatever was there.
  fs::remove(file);
  store.store("kind", kFile, "again");
  BOOST_TEST(store.load("kind", kFile).value_or("") == "again");
}

BOOST_AUTO_TEST_CASE(store_turned_off_keeps_nothing) {
  FileScanStore off("-");
  off.store("kind", kFile, "x");
  BOOST_TEST(!off.load("kind", kFile).has_value());
}

BOOST_AUTO_TEST_CASE(syscall_sites_come_back_from_the_store) {
  ScratchDir dir = scratch();
  const OpenFile f = open_file(libc_path());
  const int fd = f.fd.get();
  const struct stat& st = f.st;

  SyscallSiteCache first{FileScanStore(dir.path().string())};
  const auto decoded = first.sites_of(fd, st);
  BOOST_TEST(first.decoded() == 1u);
  BOOST_TEST(decoded.size() > 100u);  // Debian 12's libc: 548
  // Most of glibc's wrappers say which syscall they make; some (syscall(2)
  // itself) don't.
  size_t known = 0;
  for (const auto& s : decoded) known += s.nr >= 0;
  BOOST_TEST(known > decoded.size() / 2);
  BOOST_TEST(known < decoded.size());

  SyscallSiteCache second{FileScanStore(dir.path().string())};
  BOOST_TEST((second.sites_of(fd, st) == decoded));
  BOOST_TEST(second.decoded() == 0u);

  // Without a store, decoded again, to the same sites.
  SyscallSiteCache third{FileScanStore("-")};
  BOOST_TEST((third.sites_of(fd, st) == decoded));
  BOOST_TEST(third.decoded() == 1u);
}

BOOST_AUTO_TEST_CASE(syscall_site_payloads_are_checked) {
  std::vector<SyscallSiteCache::Site> sites = {{0x100, 0, {0x0f, 0x05, 0x48, 0x3d, 1, 0, 0, 0}, 1},
                                               {0x200, 5, {0xb8, 0xe4, 0, 0, 0, 0x0f, 0x05}, 228}};
  const std::string good = SyscallSiteCache::encode(sites);
  BOOST_TEST((SyscallSiteCache::decode(good) == sites));
  for (size_t len = 0; len < good.size(); ++len)
    BOOST_TEST(!SyscallSiteCache::decode(good.substr(0, len)).has_value(), "cut to " << len);
  BOOST_TEST(!SyscallSiteCache::decode(good + '\0').has_value());
  // A syscall that does not fit in its site's bytes.
  std::string bad = good;
  bad[8 + 8] = 7;  // the first site's syscall_at
  BOOST_TEST(!SyscallSiteCache::decode(bad).has_value());
  // A count no payload this size could hold.
  bad = good;
  bad[7] = 0x10;
  BOOST_TEST(!SyscallSiteCache::decode(bad).has_value());
}

BOOST_AUTO_TEST_CASE(trap_sites_come_back_from_the_store) {
  ScratchDir dir = scratch();
  // ld.so has rdtsc (glibc's rtld timing) and cpuid (its cpu_features).
  const OpenFile f = open_file("/lib64/ld-linux-x86-64.so.2");
  const int fd = f.fd.get();
  const struct stat& st = f.st;
  TrapSiteCache first{FileScanStore(dir.path().string())};
  const auto decoded = first.sites_of(fd, st);
  auto count = [&](TrapInsn k) {
    return std::count_if(decoded.begin(), decoded.end(),
                         [k](const TrapSite& s) { return s.kind == k; });
  };
  BOOST_TEST(count(TrapInsn::Rdtsc) > 0);
  BOOST_TEST(count(TrapInsn::Cpuid) > 0);
  TrapSiteCache second{FileScanStore(dir.path().string())};
  const auto loaded = second.sites_of(fd, st);
  BOOST_TEST(second.decoded() == 0u);
  BOOST_TEST((loaded == decoded));
  std::string payload = TrapSiteCache::encode(decoded);
  BOOST_TEST(TrapSiteCache::decode(payload).has_value());
  BOOST_TEST(!TrapSiteCache::decode(payload.substr(0, payload.size() - 1)).has_value());
  payload[payload.size() - 2] = 5;  // past rdseed, the last kind
  BOOST_TEST(!TrapSiteCache::decode(payload).has_value());
  payload[payload.size() - 2] = 0;
  payload.back() = 9;  // longer than any patched instruction
  BOOST_TEST(!TrapSiteCache::decode(payload).has_value());
}
