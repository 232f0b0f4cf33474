// One libelf descriptor over an open file, ended with the scope (libelf's
// elf_begin/elf_end). rewind_core links libelf.
#pragma once

#include <gelf.h>

namespace rwd {

class ElfHandle {
 public:
  explicit ElfHandle(int fd) {
    elf_version(EV_CURRENT);
    elf_ = elf_begin(fd, ELF_C_READ, nullptr);
  }
  ~ElfHandle() {
    if (elf_) elf_end(elf_);
  }
  ElfHandle(const ElfHandle&) = delete;
  ElfHandle& operator=(const ElfHandle&) = delete;
  Elf* get() const { return elf_; }
  // Whether the file is an ELF object libelf could open.
  bool is_elf() const { return elf_ && elf_kind(elf_) == ELF_K_ELF; }

 private:
  Elf* elf_ = nullptr;
};

}  // namespace rwd
