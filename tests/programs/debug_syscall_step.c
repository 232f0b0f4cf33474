// Single-stepping across syscalls that replay emulates at their entry stop
// (PTRACE_SYSEMU; tests/gdb/syscall_stepi.gdb): raw `syscall` instructions,
// recorded without syscall buffering, so every stepi is one instruction.
int main(void) {
  long first, second;
  __asm__ volatile(
      ".globl steps_begin\n"
      "steps_begin:\n"
      "mov $39, %%eax\n"  // getpid
      "syscall\n"
      "mov %%rax, %%rdi\n"
      "mov $39, %%eax\n"
      "syscall\n"
      "mov %%rax, %%rsi\n"
      "nop\n"
      : "=D"(first), "=S"(second)
      :
      : "rax", "rcx", "r11", "memory");
  return first == second ? 0 : 1;
}
