# package.install: the Debian package built from this checkout
# (packaging/build-deb.sh: dpkg-buildpackage and lintian) and installed into
# a clean root, used with gdb and LLDB, and purged
# (tests/package/install_test.sh; docs/packaging.md).
#
# Not part of the default suite: building the package is a second full
# build of rewind (10 CPU minutes, 6 to 10 minutes on two cores), which
# would take CI past its 30 minutes; the install test itself takes 30 s.
# Run it with
#   cmake -B build -DREWIND_PACKAGE_TEST=ON && ctest --test-dir build -L package
# or the two scripts by hand (README, "Debian package"). It needs root and
# the tools scripts/setup.sh installs; a missing one fails it.
option(REWIND_PACKAGE_TEST "Register package.install (builds the .deb: slow)" OFF)
if(REWIND_PACKAGE_TEST)
  add_test(NAME package.install
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/package/package_test.sh ${PROJECT_BINARY_DIR})
  # RUN_SERIAL: it is a whole build, and its timings (gdb, LLDB) would
  # suffer beside other tests.
  set_tests_properties(package.install PROPERTIES LABELS package RUN_SERIAL TRUE TIMEOUT 2400)
endif()
