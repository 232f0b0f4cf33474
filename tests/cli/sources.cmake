# rewind sources and rewind buildid (docs/sources.md): real recordings of
# src_lines (built -g above, or compiled by the test with -gdwarf-4, -gz or
# stripped) and of python3, checked against readelf -n; and a trace whose
# copy of the program is corrupt (labels: cli, bad).
set(REWIND_SOURCES_TEST ${CMAKE_CURRENT_SOURCE_DIR}/e2e/sources.sh)
foreach(case program deleted python3 dwarf4 gz stripped corrupt)
  set(name cli.sources.${case})
  set(labels cli)
  if(case STREQUAL "corrupt")
    set(name bad.sources.corrupt_copy)
    set(labels cli bad)
  endif()
  add_test(NAME ${name}
           COMMAND bash ${REWIND_SOURCES_TEST} ${case} $<TARGET_FILE:rewind> ${REWIND_TEST_BIN}
                   ${CMAKE_CURRENT_SOURCE_DIR}/programs)
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 300)
endforeach()
