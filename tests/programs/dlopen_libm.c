/* Checks dlopen of libm.so.6 and calling cos/sqrt through dlsym: the
 * library is mmapped at run time (not by ld.so at startup), so replay must
 * map the same file at the same address. Also a failed dlopen. */
#include "common.h"
#include <dlfcn.h>

int main(void) {
  void *bad = dlopen("libdoes-not-exist.so.9", RTLD_NOW);
  printf("dlopen missing -> %p error mentions name %d\n", bad,
         strstr(dlerror(), "libdoes-not-exist") != NULL);
  void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
  CHECK(h != NULL);
  double (*cos_fn)(double) = (double (*)(double))dlsym(h, "cos");
  double (*sqrt_fn)(double) = (double (*)(double))dlsym(h, "sqrt");
  CHECK(cos_fn && sqrt_fn);
  printf("cos(0) %.17g cos(1) %.17g cos(3.14159) %.17g\n", cos_fn(0.0), cos_fn(1.0), cos_fn(3.14159));
  printf("sqrt(2) %.17g\n", sqrt_fn(2.0));
  Dl_info info;
  CHECK(dladdr((void *)cos_fn, &info) != 0);
  printf("cos lives in %s, load address %p\n", strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname, info.dli_fbase);
  printf("dlsym missing -> %p\n", dlsym(h, "no_such_symbol_here"));
  show("dlclose", dlclose(h));
  return 0;
}
