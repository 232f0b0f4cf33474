// Output handlers for socket syscalls that carry a struct msghdr. The simple
// ones (recvfrom, accept, getsockopt, ...) are generic table rules.
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>

#include "core/syscalls/Handlers.h"

namespace rwd::sys {
namespace {

static_assert(sizeof(msghdr) == 56);
static_assert(sizeof(mmsghdr) == 64);

// What ___sys_recvmsg() (net/socket.c) writes for one received message of
// `bytes` bytes, given the msghdr at `addr` as it is after the call:
//  - the data, scattered over msg_iov;
//  - the source address, msg_namelen bytes at most (move_addr_to_user()
//    stores the full length in msg_namelen but copies only what fits, and an
//    address never exceeds sockaddr_storage);
//  - the control messages, which the kernel sets msg_controllen to cover;
//  - the three msghdr fields it updates: msg_namelen, msg_controllen and
//    msg_flags.
void one_msghdr(TraceeMemoryReader& mem, uint64_t addr, uint64_t bytes,
                std::vector<OutRange>& out) {
  msghdr m{};
  if (!read_value(mem, addr, m)) return;
  add(out, addr + offsetof(msghdr, msg_namelen), sizeof m.msg_namelen);
  add(out, addr + offsetof(msghdr, msg_controllen), sizeof m.msg_controllen);
  add(out, addr + offsetof(msghdr, msg_flags), sizeof m.msg_flags);
  add(out, reinterpret_cast<uint64_t>(m.msg_name),
      std::min<uint64_t>(m.msg_namelen, sizeof(sockaddr_storage)));
  add(out, reinterpret_cast<uint64_t>(m.msg_control), m.msg_controllen);
  scatter_iovecs(mem, reinterpret_cast<uint64_t>(m.msg_iov), m.msg_iovlen, bytes, out);
}

}  // namespace

// recvmsg(fd, struct msghdr* msg, flags) -> bytes received.
void recvmsg_outputs(const SyscallArgs& a, TraceeMemoryReader& mem, std::vector<OutRange>& out) {
  if (a.ret >= 0) one_msghdr(mem, a.a[1], uint64_t(a.ret), out);
}

// recvmmsg(fd, struct mmsghdr* vec, vlen, flags, timeout) -> messages
// received. Each of the first `ret` entries is one recvmsg, and its msg_len
// holds that message's byte count. (The timeout is a generic table rule.)
void recvmmsg_outputs(const SyscallArgs& a, TraceeMemoryReader& mem, std::vector<OutRange>& out) {
  const uint64_t vec = a.a[1];
  if (a.ret <= 0 || vec == 0) return;
  const uint64_t n = std::min<uint64_t>(uint64_t(a.ret), uint32_t(a.a[2]));
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t entry = vec + i * sizeof(mmsghdr);
    unsigned len = 0;
    if (!read_value(mem, entry + offsetof(mmsghdr, msg_len), len)) return;
    add(out, entry + offsetof(mmsghdr, msg_len), sizeof len);
    one_msghdr(mem, entry + offsetof(mmsghdr, msg_hdr), a.at_entry ? UINT64_MAX : len, out);
  }
}

// sendmmsg(fd, struct mmsghdr* vec, vlen, flags) -> messages sent. The kernel
// stores each sent message's byte count in its msg_len.
void sendmmsg_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (a.ret <= 0 || a.a[1] == 0) return;
  const uint64_t n = std::min<uint64_t>(uint64_t(a.ret), uint32_t(a.a[2]));
  for (uint64_t i = 0; i < n; ++i)
    add(out, a.a[1] + i * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len), sizeof(unsigned));
}

}  // namespace rwd::sys
