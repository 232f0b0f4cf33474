/* A program that finds the vDSO itself, as Go's runtime and some tracing
 * libraries do: from AT_SYSINFO_EHDR it walks the ELF headers to the
 * dynamic symbols, looks up __vdso_clock_gettime, __vdso_gettimeofday and
 * __vdso_time, and calls them; it also calls clock_gettime through glibc,
 * which uses the vDSO too. The times differ from run to run, so they only
 * match if replay answers as recorded; the image's hash must match too. */
#include "common.h"

#include <elf.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);
typedef int (*gettimeofday_fn)(struct timeval*, void*);
typedef time_t (*time_fn)(time_t*);

static const Elf64_Ehdr* vdso;

static void* lookup(const char* want) {
  const char* base = (const char*)vdso;
  const Elf64_Shdr* sh = (const Elf64_Shdr*)(base + vdso->e_shoff);
  for (int i = 0; i < vdso->e_shnum; i++) {
    if (sh[i].sh_type != SHT_DYNSYM) continue;
    const Elf64_Sym* sym = (const Elf64_Sym*)(base + sh[i].sh_offset);
    const char* names = base + sh[sh[i].sh_link].sh_offset;
    for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++)
      if (sym[k].st_value && strcmp(names + sym[k].st_name, want) == 0)
        return (void*)(base + sym[k].st_value);
  }
  return NULL;
}

int main(void) {
  vdso = (const Elf64_Ehdr*)getauxval(AT_SYSINFO_EHDR);
  CHECK(vdso != NULL);
  CHECK(memcmp(vdso->e_ident, ELFMAG, SELFMAG) == 0 && vdso->e_ident[EI_CLASS] == ELFCLASS64);
  printf("vDSO: ELF type %d, %d sections, hash %016llx\n", vdso->e_type, vdso->e_shnum,
         fnv1a(vdso, 4096));
  clock_gettime_fn cg = (clock_gettime_fn)lookup("__vdso_clock_gettime");
  gettimeofday_fn gtod = (gettimeofday_fn)lookup("__vdso_gettimeofday");
  time_fn tm = (time_fn)lookup("__vdso_time");
  CHECK(cg && gtod && tm);
  struct timespec a, b, c;
  CHECK(cg(CLOCK_MONOTONIC, &a) == 0 && cg(CLOCK_REALTIME, &b) == 0);
  struct timeval tv;
  CHECK(gtod(&tv, NULL) == 0);
  time_t t = tm(NULL);
  CHECK(clock_gettime(CLOCK_MONOTONIC, &c) == 0);
  printf("monotonic %lld.%09ld, then %lld.%09ld\n", (long long)a.tv_sec, a.tv_nsec,
         (long long)c.tv_sec, c.tv_nsec);
  printf("realtime %lld.%09ld, gettimeofday %lld.%06ld, time %lld\n", (long long)b.tv_sec,
         b.tv_nsec, (long long)tv.tv_sec, (long)tv.tv_usec, (long long)t);
  CHECK(c.tv_sec > a.tv_sec || (c.tv_sec == a.tv_sec && c.tv_nsec >= a.tv_nsec));
  CHECK(t >= b.tv_sec && t - b.tv_sec < 5);
  /* Many calls: the buffered path, once the library has patched them. */
  long long sum = 0;
  for (int i = 0; i < 20000; i++) {
    CHECK(cg(CLOCK_MONOTONIC, &c) == 0);
    sum += c.tv_nsec % 1000;
  }
  printf("20000 more calls, sum of their nanoseconds mod 1000: %lld\n", sum);
  return 0;
}
