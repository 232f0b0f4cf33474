// Maps one library file several times and dlopens it, and identical copies
// of it under other names, again and again; touches it between rounds so
// the recorder captures it anew. The unpacked trace holds the same content
// many times over; a packed one must hold it once.
//
// usage: dedupe_main LIB COPY...
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef uint64_t (*checksum_fn)(const char*, int);

static int use(const char* path, int round) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return 1;
  }
  checksum_fn f = (checksum_fn)dlsym(h, "portable_checksum");
  printf("round %d %s: %016llx\n", round, path, (unsigned long long)f("dedupe", round + 1));
  dlclose(h);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  for (int round = 0; round < 3; ++round) {
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) return 1;
    struct stat st;
    fstat(fd, &st);
    // The same file mapped three times, whole and from its second page.
    void* a = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    void* b = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    void* c = mmap(NULL, st.st_size - 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    printf("round %d maps: %d %d\n", round, ((unsigned char*)a)[1], ((unsigned char*)c)[0]);
    munmap(a, st.st_size);
    munmap(b, st.st_size);
    munmap(c, st.st_size - 4096);
    for (int i = 1; i < argc; ++i)
      if (use(argv[i], round)) return 1;
    // A new mtime: the next round's mappings are a new capture.
    struct timespec times[2] = {{0, UTIME_OMIT}, {1000000 + round, 0}};
    futimens(fd, times);
    close(fd);
  }
  return 0;
}
