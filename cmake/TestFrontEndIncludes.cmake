# ctest unit.front_end_includes: CheckFrontEndIncludes.cmake fails on front
# ends that include the engine, naming file, line and include, and passes
# on what is allowed and on the real tree (SOURCE_DIR, FRONT_ENDS).
cmake_minimum_required(VERSION 3.20)
set(check "${CMAKE_CURRENT_LIST_DIR}/CheckFrontEndIncludes.cmake")

# Runs the check on `tree` with the front ends `dirs`; sets rc and out.
function(run_check tree dirs)
  execute_process(COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${tree}" "-DFRONT_ENDS=${dirs}"
                          -P "${check}"
                  RESULT_VARIABLE result OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  set(rc "${result}" PARENT_SCOPE)
  set(out "${stdout}${stderr}" PARENT_SCOPE)
endfunction()

function(expect_failure name want)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${name}: the check passed; it should have failed:\n${out}")
  endif()
  foreach(w IN LISTS want)
    string(FIND "${out}" "${w}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${name}: the check's message lacks '${w}':\n${out}")
    endif()
  endforeach()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(tree "${WORK_DIR}/tree")
file(MAKE_DIRECTORY "${tree}/core/replay" "${tree}/cli" "${tree}/dap")

# An engine header in a front end.
file(WRITE "${tree}/cli/Bad.cc"
     "// a front end\n#include <cstdio>\n#include \"core/replay/ReplaySession.h\"\nint x;\n")
run_check("${tree}" "cli,gdbstub,dap")
expect_failure("quoted engine include" "cli/Bad.cc:3;core/replay/ReplaySession.h")

# The same with <>, and rewind_api's private headers.
file(WRITE "${tree}/cli/Bad.cc" "#include <core/replay/ReplaySession.h>\n")
file(WRITE "${tree}/dap/Bad.h" "#pragma once\n\n#include \"core/api/internal/OpenStore.h\"\n")
run_check("${tree}" "cli,dap")
expect_failure("angled engine include, api internals"
               "cli/Bad.cc:1;<core/replay/ReplaySession.h>;dap/Bad.h:3;core/api/internal")

# Another front end's headers (but GdbServer.h), and a way round with "..".
file(REMOVE "${tree}/cli/Bad.cc" "${tree}/dap/Bad.h")
file(WRITE "${tree}/dap/Bad.cc" "#include \"gdbstub/Session.h\"\n#include \"../core/replay/X.h\"\n")
run_check("${tree}" "cli,dap")
expect_failure("another front end's header" "dap/Bad.cc:1;gdbstub/Session.h;dap/Bad.cc:2")

# What is allowed.
file(REMOVE "${tree}/dap/Bad.cc")
file(WRITE "${tree}/dap/Good.cc"
     "#include \"dap/Good.h\"\n#include \"Local.h\"\n#include <nlohmann/json.hpp>\n"
     "#include \"core/api/Replay.h\"\n#include \"core/base/Log.h\"\n"
     "#include \"gdbstub/GdbServer.h\"\nconst char* s = \"a;b[\"; // \\\n")
run_check("${tree}" "cli,gdbstub,dap,lldb-plugin")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "allowed includes: the check failed:\n${out}")
endif()

# This tree.
run_check("${SOURCE_DIR}" "${FRONT_ENDS}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the real tree: the check failed:\n${out}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
