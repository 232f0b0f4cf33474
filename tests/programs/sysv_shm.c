/* SysV shared memory between two processes. The parent makes a 3-page
 * segment and attaches it twice (two addresses, one segment): a word
 * written through one is read through the other. A forked child writes
 * through the attach it inherited, attaches the segment again on its own,
 * reads the parent's words there, and writes its own, which the parent
 * reads once the child says so over a pipe; then the parent writes, and the
 * child reads it through both of its attaches. A read-only attach sees it
 * all, and shmctl(IPC_STAT) reports the attach counts on the way. The
 * segment is removed while still attached, and detached last. */
#include "common.h"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

#define SIZE (3 * 4096 - 100)

static int attaches(int id) {
  struct shmid_ds ds;
  CHECK(shmctl(id, IPC_STAT, &ds) == 0);
  return (int)ds.shm_nattch;
}

static unsigned long sum(const volatile char* p) {
  unsigned long s = 0;
  for (int i = 0; i < SIZE; i++) s = s * 31 + (unsigned char)p[i];
  return s;
}

int main(void) {
  int id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600);
  CHECK(id >= 0);
  volatile char *a = shmat(id, NULL, 0), *b = shmat(id, NULL, 0);
  CHECK(a != (void*)-1 && b != (void*)-1 && a != b);
  strcpy((char*)a, "parent");
  a[SIZE - 1] = 'P';
  printf("parent: through the other attach: %s %c, attaches %d\n", (const char*)b, b[SIZE - 1],
         attaches(id));
  int to_parent[2], to_child[2];
  CHECK(pipe(to_parent) == 0 && pipe(to_child) == 0);
  pid_t c = fork();
  CHECK(c >= 0);
  char byte;
  if (c == 0) {
    strcpy((char*)a + 100, "inherited");
    volatile char* own = shmat(id, NULL, 0);
    CHECK(own != (void*)-1);
    printf("child: reads %s %c, attaches %d\n", (const char*)own, own[SIZE - 1], attaches(id));
    strcpy((char*)own + 4096, "child");
    CHECK(write(to_parent[1], "x", 1) == 1);
    CHECK(read(to_child[0], &byte, 1) == 1);
    printf("child: parent's answer %s / %s\n", (const char*)own + 8192, (const char*)a + 8192);
    CHECK(shmdt((const void*)own) == 0);
    printf("child: attaches after its shmdt %d\n", attaches(id));
    _exit(0);
  }
  CHECK(read(to_parent[0], &byte, 1) == 1);
  printf("parent: the child wrote %s and %s\n", (const char*)b + 4096, (const char*)b + 100);
  strcpy((char*)b + 8192, "answer");
  CHECK(write(to_child[1], "y", 1) == 1);
  int st;
  CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  const volatile char* ro = shmat(id, NULL, SHM_RDONLY);
  CHECK(ro != (void*)-1);
  printf("parent: read-only attach: %s %s %s, sum %lx\n", (const char*)ro, (const char*)ro + 4096,
         (const char*)ro + 8192, sum(ro));
  CHECK(sum(ro) == sum(a));
  CHECK(shmctl(id, IPC_RMID, NULL) == 0);
  a[1] = 'A';
  printf("parent: after IPC_RMID: %s, attaches %d\n", (const char*)b, attaches(id));
  CHECK(shmdt((const void*)a) == 0 && shmdt((const void*)b) == 0 && shmdt((const void*)ro) == 0);
  return 0;
}
