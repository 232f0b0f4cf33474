# One-file trace bundles (core/api/Bundle.h): `rewind bundle`, `record
# --bundle`, and TRACE arguments that name a bundle. Included by
# tests/CMakeLists.txt. cli.bundle.*: bundles made and replayed elsewhere;
# bad.bundle.*: hostile or damaged bundles, each refused with a clear
# message and nothing written outside the cache.
set(REWIND_BUNDLE_GOOD_CASES roundtrip concurrent python3 checkpoints incomplete
    interrupted)
set(REWIND_BUNDLE_BAD_CASES dotdot absolute symlink hardlink fifo device oversized no_space
    not_a_trace newer_format manifest_not_first truncated random foreign)
foreach(case IN LISTS REWIND_BUNDLE_GOOD_CASES REWIND_BUNDLE_BAD_CASES)
  if(case IN_LIST REWIND_BUNDLE_BAD_CASES)
    set(name bad.bundle.${case})
    set(labels "cli;bad")
  else()
    set(name cli.bundle.${case})
    set(labels cli)
  endif()
  add_test(NAME ${name}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/bundle.sh
                   $<TARGET_FILE:rewind> ${REWIND_TEST_BIN} ${case})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 300)
endforeach()
