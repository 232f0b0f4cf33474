/* A program for the LLDB line-step tests: reverse-step over a call into
 * code without line information in a module that has some. scaled() is
 * assembly, in a section of its own so that no line row of the C code
 * covers it; gdb steps back over such a call, and so must the plugin. */
#include "common.h"

long scaled(long x);
__asm__(
    ".pushsection .text.scaled,\"ax\",@progbits\n"
    ".globl scaled\n"
    ".type scaled, @function\n"
    "scaled:\n"
    "  lea 1(%rdi,%rdi,2), %rax\n"
    "  ret\n"
    ".size scaled, .-scaled\n"
    ".popsection\n");

/* On one line: its ret starts a line-table row of the same line. */
// clang-format off
__attribute__((noinline)) long plus_one(long x) { return x + 1; }
// clang-format on

int main(void) {
  long total = 0;
  for (long i = 0; i < 4; i++) {
    total += plus_one(i);
    total = scaled(total);
  }
  printf("total %ld\n", total);
  return total == 0;
}
