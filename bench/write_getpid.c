/* bench: N (argv[1]) rounds of a 1-byte write() to /dev/null and a getpid
 * through syscall(): 2N cheap syscalls of the kind a syscall buffer keeps in
 * the tracee (a write whose result is all that needs recording, and a
 * syscall with no memory effects). Prints the bytes written. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int fd = open("/dev/null", O_WRONLY);
  if (fd < 0) {
    perror("/dev/null");
    return 1;
  }
  char byte = 'x';
  long written = 0, pid_calls = 0;
  for (long i = 0; i < n; i++) {
    written += write(fd, &byte, 1);
    pid_calls += syscall(SYS_getpid) > 0;
  }
  close(fd);
  printf("wrote %ld bytes, %ld getpid calls\n", written, pid_calls);
  return written == n && pid_calls == n ? 0 : 1;
}
