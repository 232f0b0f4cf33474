# The front ends (cli/, gdbstub/, lldb-plugin/, dap/) include only
# core/api/, core/base/, their own headers and gdbstub/GdbServer.h
# (CheckFrontEndIncludes.cmake says why). The check is part of ALL and of
# the front ends' own targets, and it re-runs whenever one of their files
# changes: the glob is CONFIGURE_DEPENDS, so a new file, or a new front-end
# directory, is seen without anyone re-running cmake by hand.
set(REWIND_FRONT_ENDS cli gdbstub lldb-plugin dap)

set(_front_end_globs "")
foreach(_dir IN LISTS REWIND_FRONT_ENDS)
  foreach(_ext h hh hpp c cc cpp cxx inc)
    list(APPEND _front_end_globs "${PROJECT_SOURCE_DIR}/${_dir}/*.${_ext}")
  endforeach()
endforeach()
file(GLOB_RECURSE _front_end_sources CONFIGURE_DEPENDS ${_front_end_globs})
string(REPLACE ";" "," _front_ends_arg "${REWIND_FRONT_ENDS}")

set(_stamp "${PROJECT_BINARY_DIR}/front_end_includes.stamp")
add_custom_command(
  OUTPUT "${_stamp}"
  COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
          "-DFRONT_ENDS=${_front_ends_arg}" "-DSTAMP=${_stamp}"
          -P "${PROJECT_SOURCE_DIR}/cmake/CheckFrontEndIncludes.cmake"
  DEPENDS ${_front_end_sources} "${PROJECT_SOURCE_DIR}/cmake/CheckFrontEndIncludes.cmake"
  COMMENT "Checking that the front ends include only core/api/ and core/base/"
  VERBATIM)
add_custom_target(check_front_end_includes ALL DEPENDS "${_stamp}")
foreach(_target rewind rewind_gdbstub rewind_lldb rewind_dap rewind-dap)
  if(TARGET ${_target})
    add_dependencies(${_target} check_front_end_includes)
  endif()
endforeach()

# The check itself: it fails on a tree with a violating file, and passes on
# this one.
add_test(NAME unit.front_end_includes
         COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
                 "-DFRONT_ENDS=${_front_ends_arg}"
                 "-DWORK_DIR=${PROJECT_BINARY_DIR}/front_end_includes_test"
                 -P "${PROJECT_SOURCE_DIR}/cmake/TestFrontEndIncludes.cmake")
set_tests_properties(unit.front_end_includes PROPERTIES LABELS unit)
