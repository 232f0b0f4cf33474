# package.install: the Debian package built from this checkout
# (packaging/build-deb.sh: dpkg-buildpackage and lintian) and installed into
# a clean root, used with gdb and LLDB, and purged
# (tests/package/install_test.sh; docs/packaging.md).
#
# In the default suite: CI builds the package from every clean checkout
# (about 6 minutes on two cores, run alone). -DREWIND_PACKAGE_TEST=OFF
# leaves it out of a quicker local run. It needs root and the tools
# scripts/setup.sh installs; a missing one fails it.
option(REWIND_PACKAGE_TEST "Register package.install (builds the .deb: 6 minutes)" ON)
if(REWIND_PACKAGE_TEST)
  add_test(NAME package.install
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/package/package_test.sh ${PROJECT_BINARY_DIR})
  # RUN_SERIAL: it is a whole build, and its timings (gdb, LLDB) would
  # suffer beside other tests.
  set_tests_properties(package.install PROPERTIES LABELS package RUN_SERIAL TRUE TIMEOUT 2400)
endif()
