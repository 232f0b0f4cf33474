// Output handlers for file and fd syscalls: vectored reads, fcntl's
// sub-commands, file handles, and what select/poll write when they fail.
#include <asm/unistd_64.h>
#include <fcntl.h>
#include <limits.h>  // IOV_MAX
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

#include "core/syscalls/Handlers.h"

namespace rwd::sys {

void scatter_iovecs(TraceeMemoryReader& mem, uint64_t iov_addr, uint64_t iovcnt, uint64_t bytes,
                    std::vector<OutRange>& out) {
  // The kernel refuses more than UIO_MAXIOV (1024) entries with EINVAL, so a
  // call that transferred bytes had at most that many.
  if (iov_addr == 0 || bytes == 0 || iovcnt == 0 || iovcnt > IOV_MAX) return;
  std::vector<iovec> iov(iovcnt);
  if (!mem.read(iov_addr, iov.data(), iovcnt * sizeof(iovec)).ok()) return;
  for (const iovec& v : iov) {
    if (bytes == 0) break;
    const uint64_t n = std::min<uint64_t>(bytes, v.iov_len);
    add(out, reinterpret_cast<uint64_t>(v.iov_base), n);
    bytes -= n;
  }
}

// readv, preadv, preadv2, vmsplice: (fd, iov, iovcnt, ...) filled in order.
void readv_outputs(const SyscallArgs& a, TraceeMemoryReader& mem, std::vector<OutRange>& out) {
  if (a.ret > 0) scatter_iovecs(mem, a.a[1], a.a[2], uint64_t(a.ret), out);
}

void fcntl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  static_assert(sizeof(struct flock) == 32);
  static_assert(sizeof(struct f_owner_ex) == 8);
  const uint64_t arg = a.a[2];
  switch (int(a.a[1])) {
    case F_GETLK:  // F_GETLK64 is the same command on 64-bit
    case F_OFD_GETLK:
      add(out, arg, sizeof(struct flock));
      break;
    case F_GETOWN_EX:
      add(out, arg, sizeof(struct f_owner_ex));
      break;
    case F_GET_RW_HINT:
    case F_GET_FILE_RW_HINT:
      add(out, arg, sizeof(uint64_t));
      break;
    default:  // every other command takes its argument by value
      break;
  }
}

// name_to_handle_at(dirfd, path, struct file_handle* handle, int* mount_id,
// flags). fs/fhandle.c: on success the kernel writes the header and
// handle_bytes of handle; when the buffer is too small (EOVERFLOW, which
// callers use to probe the size) it still writes the 8-byte header, with the
// needed handle_bytes, and the mount id.
void name_to_handle_at_outputs(const SyscallArgs& a, TraceeMemoryReader& mem,
                               std::vector<OutRange>& out) {
  if (failed(a.ret) && a.ret != -EOVERFLOW) return;
  constexpr uint64_t kHeader = 8;  // u32 handle_bytes, int handle_type
  uint64_t len = kHeader;
  uint32_t handle_bytes = 0;
  if (!failed(a.ret) && read_value(mem, a.a[2], handle_bytes)) len += handle_bytes;
  add(out, a.a[2], len);
  // AT_HANDLE_MNT_ID_UNIQUE (Linux 6.12) makes the mount id a u64.
  constexpr uint64_t kAtHandleMntIdUnique = 0x001;
  add(out, a.a[3], (a.a[4] & kAtHandleMntIdUnique) ? 8 : 4);
}

// select/pselect6 store the remaining timeout through poll_select_finish()
// (fs/select.c) on every return, failures included (EINTR, EBADF), unless the
// timeout couldn't be read in the first place (EFAULT). The fd sets are only
// written on success, which the generic rules cover.
void select_on_failure(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (failed(a.ret) && a.ret != -EFAULT) add(out, a.a[4], 16);  // timeval or timespec
}

// poll/ppoll: do_sys_poll() (fs/select.c) copies every revents back even when
// a signal interrupted the wait; ppoll also stores the remaining timeout like
// select does.
void poll_on_failure(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (!failed(a.ret)) return;
  if (interrupted(a.ret)) add(out, a.a[0], uint64_t(uint32_t(a.a[1])) * 8);
  if (a.nr == __NR_ppoll && a.ret != -EFAULT) add(out, a.a[2], 16);
}

}  // namespace rwd::sys
