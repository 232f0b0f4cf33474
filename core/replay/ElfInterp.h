// The ELF interpreter a replayed execve loads.
//
// The kernel maps the interpreter named by the executable's PT_INTERP
// (/lib64/ld-linux-x86-64.so.2) from the filesystem of the machine that
// runs the replay, not from the trace. When that file is missing or differs
// from the one recorded (another machine, a glibc update), replay instead
// execs a copy of the executable whose PT_INTERP names the trace's copy of
// the interpreter through a /proc/PID/fd/N path, which fits in the space
// the original string had. Once the execve is done, replay writes the
// original string back into the tracee's memory, so the program sees the
// bytes it saw when recorded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/Error.h"

namespace rwd {

struct PtInterp {
  uint64_t file_offset = 0;  // p_offset: where the string lies in the file
  uint64_t size = 0;         // p_filesz: the room for it, NUL included
  std::string path;          // the string, without its NUL
  std::string raw;           // all `size` bytes as in the file
};

// PT_INTERP of an ELF executable; std::nullopt for one without (static, or
// not ELF at all, such as a script). An Error only for I/O failures and
// malformed ELF.
Result<std::optional<PtInterp>> read_pt_interp(const std::string& elf_path);

// Copies `src` to `dest` (mode 0700) with its PT_INTERP string replaced by
// `new_path`, NUL-padded. Fails if new_path does not fit.
Result<void> write_with_interp(const std::string& src, const PtInterp& interp,
                               const std::string& new_path, const std::string& dest);

// Whether two files have the same bytes.
Result<bool> same_file_content(const std::string& a, const std::string& b);

}  // namespace rwd
