// vFile: gdb reads the program and its libraries through these ("Host I/O
// Packets" in the manual). We serve the recording's own copies, so gdb sees
// the exact files that ran even when the disk has changed since. The target
// decides which paths exist (core/timeline/RecordedFiles.h): the recording's
// files and separate debug info, never the rest of the server's machine.
#include <algorithm>
#include <cerrno>

#include "gdbstub/Session.h"

namespace rwd::gdbstub {

namespace {

// errno values of gdb's File-I/O protocol ("Errno Values"); they are not
// the host's.
constexpr int kFioEnoent = 2;
constexpr int kFioEbadf = 9;
constexpr int kFioEacces = 13;
constexpr int kFioEinval = 22;
constexpr int kFioEmfile = 24;
constexpr int kFioErofs = 30;
constexpr int kFioEunknown = 9999;

// Open flags of the File-I/O protocol: only the access mode matters here.
constexpr uint64_t kFioAccessMode = 3;  // O_RDONLY 0, O_WRONLY 1, O_RDWR 2

// Enough for gdb, which opens a handful of files at a time.
constexpr size_t kMaxOpenFiles = 64;
// After the numbers of stdin, stdout and stderr, as a process's first open.
constexpr int kFirstFd = 3;

Reply fio_error(int fio_errno) {
  return Reply{"F-1," + hex_number(static_cast<uint64_t>(fio_errno))};
}

// Why the target would not open a file: a path it refuses to serve (one
// outside the recording that tries to get out of the debug-info directory,
// or not a regular file) is EACCES; anything else, ENOENT, which is also
// what a path the recording never saw gets, whether or not this machine
// has it.
int fio_open_errno(const Error& error) {
  return error.errnum == EACCES || error.errnum == EPERM ? kFioEacces : kFioEnoent;
}

// The arguments of a vFile packet, as hex numbers.
Result<std::vector<uint64_t>> parse_numbers(std::string_view args, size_t count) {
  std::vector<std::string_view> parts = split(args, ',');
  if (parts.size() != count) return Error{"expected " + std::to_string(count) + " arguments"};
  std::vector<uint64_t> values;
  for (std::string_view p : parts) {
    Result<uint64_t> v = parse_hex_number(p);
    if (!v) return v.error();
    values.push_back(*v);
  }
  return values;
}

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// gdb's File-I/O "struct stat": 64 bytes, big-endian, whatever the host.
std::string fio_stat(uint64_t size) {
  constexpr uint32_t kFioRegularFile = 0100000;
  constexpr uint32_t kReadOnly = 0444;
  constexpr uint64_t kBlockSize = 4096;
  std::string st;
  put_be32(st, 0);                            // st_dev
  put_be32(st, 0);                            // st_ino
  put_be32(st, kFioRegularFile | kReadOnly);  // st_mode
  put_be32(st, 1);                            // st_nlink
  put_be32(st, 0);                            // st_uid
  put_be32(st, 0);                            // st_gid
  put_be32(st, 0);                            // st_rdev
  put_be64(st, size);                         // st_size
  put_be64(st, kBlockSize);                   // st_blksize
  put_be64(st, (size + 511) / 512);           // st_blocks
  put_be32(st, 0);                            // st_atime
  put_be32(st, 0);                            // st_mtime
  put_be32(st, 0);                            // st_ctime
  return st;
}

}  // namespace

Result<Reply> Session::handle_vFile_setfs(std::string_view args) {
  // Every process of a recording shares its file copies, so the mount
  // namespace gdb picks makes no difference.
  if (!parse_numbers(args, 1).ok()) return fio_error(kFioEinval);
  return Reply{"F0"};
}

Result<Reply> Session::handle_vFile_open(std::string_view args) {
  std::vector<std::string_view> parts = split(args, ',');
  if (parts.size() != 3) return fio_error(kFioEinval);
  Result<std::vector<uint8_t>> path_bytes = from_hex(parts[0]);
  Result<uint64_t> flags = parse_hex_number(parts[1]);
  if (!path_bytes || !flags) return fio_error(kFioEinval);
  if ((*flags & kFioAccessMode) != 0) return fio_error(kFioErofs);  // a recording is history
  std::string path(path_bytes->begin(), path_bytes->end());
  if (Result<uint64_t> size = target_.recorded_file_size(path); !size)
    return fio_error(fio_open_errno(size.error()));
  if (open_files_.size() >= kMaxOpenFiles) return fio_error(kFioEmfile);
  // The lowest free number, as open(2) picks: a counter would overflow
  // after enough open/close pairs.
  int fd = kFirstFd;
  for (const auto& entry : open_files_) {
    if (entry.first != fd) break;
    ++fd;
  }
  open_files_[fd] = std::move(path);
  return Reply{"F" + hex_number(static_cast<uint64_t>(fd))};
}

Result<Reply> Session::handle_vFile_pread(std::string_view args) {
  Result<std::vector<uint64_t>> n = parse_numbers(args, 3);  // fd, count, offset
  if (!n) return fio_error(kFioEinval);
  auto file = open_files_.find(static_cast<int>((*n)[0]));
  if ((*n)[0] > INT32_MAX || file == open_files_.end()) return fio_error(kFioEbadf);
  // Escaping can double the data; leave room for "F<count>;".
  const size_t count = std::min<uint64_t>((*n)[1], kMaxPacketSize / 2 - 32);
  Result<std::vector<uint8_t>> data = target_.read_recorded_file(file->second, (*n)[2], count);
  if (!data) return fio_error(kFioEunknown);
  std::string_view bytes(reinterpret_cast<const char*>(data->data()), data->size());
  return Reply{"F" + hex_number(data->size()) + ";" + escape_binary(bytes)};
}

Result<Reply> Session::handle_vFile_close(std::string_view args) {
  Result<std::vector<uint64_t>> n = parse_numbers(args, 1);
  if (!n) return fio_error(kFioEinval);
  if ((*n)[0] > INT32_MAX || open_files_.erase(static_cast<int>((*n)[0])) == 0)
    return fio_error(kFioEbadf);
  return Reply{"F0"};
}

Result<Reply> Session::handle_vFile_fstat(std::string_view args) {
  Result<std::vector<uint64_t>> n = parse_numbers(args, 1);
  if (!n) return fio_error(kFioEinval);
  auto file = open_files_.find(static_cast<int>((*n)[0]));
  if ((*n)[0] > INT32_MAX || file == open_files_.end()) return fio_error(kFioEbadf);
  Result<uint64_t> size = target_.recorded_file_size(file->second);
  if (!size) return fio_error(kFioEunknown);
  const std::string st = fio_stat(*size);
  return Reply{"F" + hex_number(st.size()) + ";" + escape_binary(st)};
}

}  // namespace rwd::gdbstub
