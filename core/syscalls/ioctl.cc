// ioctl(fd, request, arg): what each known request writes through arg. The
// request numbers are those of <asm-generic/ioctls.h> and <linux/fs.h>,
// spelled out because glibc's headers can't name the kernel's own structs
// (its struct termios is 60 bytes; the kernel's is 36).
//
// A request missing here makes outputs() report nothing; ioctl_is_known()
// lets the recorder warn, since replay diverges if the program later reads
// what that ioctl wrote. Add a request with the size the kernel copies out
// (not _IOC_SIZE of the number, which several drivers get wrong, e.g.
// FS_IOC_GETFLAGS encodes a long but copies an int).
#include <algorithm>
#include <iterator>

#include "core/syscalls/Handlers.h"

namespace rwd::sys {
namespace {

struct IoctlOut {
  uint32_t request;
  uint32_t bytes;  // written through arg; 0: the request writes nothing
};

constexpr uint32_t kKernelTermios = 36;   // asm-generic/termbits.h: 4 tcflag_t, c_line, c_cc[19]
constexpr uint32_t kKernelTermios2 = 44;  // termios + c_ispeed, c_ospeed
constexpr uint32_t kTermio = 18;          // 4 unsigned short, c_line, c_cc[8], padding
constexpr uint32_t kWinsize = 8;
constexpr uint32_t kIfreq = 40;  // struct ifreq: IFNAMSIZ + a 24-byte union

// Sorted by request, for binary search.
constexpr IoctlOut kIoctls[] = {
    {0x1260, 8},                    // BLKGETSIZE: unsigned long sectors
    {0x1268, 4},                    // BLKSSZGET
    {0x5401, kKernelTermios},       // TCGETS
    {0x5402, 0},                    // TCSETS
    {0x5403, 0},                    // TCSETSW
    {0x5404, 0},                    // TCSETSF
    {0x5405, kTermio},              // TCGETA
    {0x5406, 0},                    // TCSETA
    {0x5407, 0},                    // TCSETAW
    {0x5408, 0},                    // TCSETAF
    {0x5409, 0},                    // TCSBRK
    {0x540A, 0},                    // TCXONC
    {0x540B, 0},                    // TCFLSH
    {0x540C, 0},                    // TIOCEXCL
    {0x540D, 0},                    // TIOCNXCL
    {0x540E, 0},                    // TIOCSCTTY
    {0x540F, 4},                    // TIOCGPGRP
    {0x5410, 0},                    // TIOCSPGRP
    {0x5411, 4},                    // TIOCOUTQ
    {0x5412, 0},                    // TIOCSTI
    {0x5413, kWinsize},             // TIOCGWINSZ
    {0x5414, 0},                    // TIOCSWINSZ
    {0x5415, 4},                    // TIOCMGET
    {0x5416, 0},                    // TIOCMBIS
    {0x5417, 0},                    // TIOCMBIC
    {0x5418, 0},                    // TIOCMSET
    {0x5419, 4},                    // TIOCGSOFTCAR
    {0x541A, 0},                    // TIOCSSOFTCAR
    {0x541B, 4},                    // FIONREAD (TIOCINQ)
    {0x5420, 0},                    // TIOCPKT
    {0x5421, 0},                    // FIONBIO
    {0x5422, 0},                    // TIOCNOTTY
    {0x5423, 0},                    // TIOCSETD
    {0x5424, 4},                    // TIOCGETD
    {0x5427, 0},                    // TIOCSBRK
    {0x5428, 0},                    // TIOCCBRK
    {0x5429, 4},                    // TIOCGSID
    {0x5437, 0},                    // TIOCVHANGUP
    {0x5441, 0},                    // TIOCGPTPEER: returns an fd
    {0x5450, 0},                    // FIONCLEX
    {0x5451, 0},                    // FIOCLEX
    {0x5452, 0},                    // FIOASYNC
    {0x5456, kKernelTermios},       // TIOCGLCKTRMIOS
    {0x5457, 0},                    // TIOCSLCKTRMIOS
    {0x5460, 8},                    // FIOQSIZE: loff_t
    {0x8901, 0},                    // FIOSETOWN
    {0x8902, 0},                    // SIOCSPGRP
    {0x8903, 4},                    // FIOGETOWN
    {0x8904, 4},                    // SIOCGPGRP
    {0x8905, 4},                    // SIOCATMARK
    {0x8910, kIfreq},               // SIOCGIFNAME
    {0x8913, kIfreq},               // SIOCGIFFLAGS
    {0x8915, kIfreq},               // SIOCGIFADDR
    {0x8919, kIfreq},               // SIOCGIFBRDADDR
    {0x891B, kIfreq},               // SIOCGIFNETMASK
    {0x8921, kIfreq},               // SIOCGIFMTU
    {0x8927, kIfreq},               // SIOCGIFHWADDR
    {0x8933, kIfreq},               // SIOCGIFINDEX
    {0x40045431, 0},                // TIOCSPTLCK
    {0x40045436, 0},                // TIOCSIG
    {0x40049409, 0},                // FICLONE
    {0x40086602, 0},                // FS_IOC_SETFLAGS
    {0x40086d01, 0},                // MTIOCTOP: struct mtop in
    {0x4020940D, 0},                // FICLONERANGE
    {0x402C542B, 0},                // TCSETS2
    {0x402C542C, 0},                // TCSETSW2
    {0x402C542D, 0},                // TCSETSF2
    {0x80045430, 4},                // TIOCGPTN
    {0x80045432, 4},                // TIOCGDEV
    {0x80045438, 4},                // TIOCGPKT
    {0x80045439, 4},                // TIOCGPTLCK
    {0x80045440, 4},                // TIOCGEXCL
    {0x80081272, 8},                // BLKGETSIZE64
    {0x80086601, 4},                // FS_IOC_GETFLAGS: encoded as long, copies an int
    {0x80086d03, 8},                // MTIOCPOS: struct mtpos, a long
    {0x80087601, 4},                // FS_IOC_GETVERSION: likewise
    {0x802C542A, kKernelTermios2},  // TCGETS2
    {0x80306d02, 48},               // MTIOCGET: struct mtget, 5 longs and 2 ints
};

consteval bool sorted_and_unique() {
  for (size_t i = 1; i < std::size(kIoctls); ++i)
    if (kIoctls[i - 1].request >= kIoctls[i].request) return false;
  return true;
}
static_assert(sorted_and_unique(), "kIoctls must be sorted by request, without duplicates");

const IoctlOut* find_ioctl(uint64_t request) {
  // The kernel's ioctl takes `unsigned int cmd`: the upper half is ignored.
  const uint32_t r = uint32_t(request);
  auto it = std::lower_bound(std::begin(kIoctls), std::end(kIoctls), r,
                             [](const IoctlOut& e, uint32_t v) { return e.request < v; });
  return it != std::end(kIoctls) && it->request == r ? it : nullptr;
}

}  // namespace

bool ioctl_is_known(uint64_t request) {
  return find_ioctl(request) != nullptr;
}

void ioctl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (const IoctlOut* e = find_ioctl(a.a[1])) add(out, a.a[2], e->bytes);
}

}  // namespace rwd::sys
