# Fails when a front end includes more of rewind than its door.
#
#   cmake -DSOURCE_DIR=<tree> -DFRONT_ENDS=cli,gdbstub,... [-DSTAMP=<file>]
#         -P CheckFrontEndIncludes.cmake
#
# A front end (the rewind command in cli/, the gdb server in gdbstub/, the
# LLDB plugin in lldb-plugin/, the DAP adapter in dap/) sees the engine
# only through core/api/, as LLDB's gdb-remote server sees a process only
# through NativeProcessProtocol (docs/style.md, "Protocol code never
# touches the OS"). Linking alone cannot enforce that: every header of the
# tree is on every target's include path, and an engine header whose code
# is inline, or whose library arrives through rewind_api's PRIVATE links,
# builds fine. So the build reads the includes themselves. Allowed:
#   "core/api/..."   (but not core/api/internal/, private to rewind_api)
#   "core/base/..."  errors, fds, logging, strong types
#   "<own dir>/..."  the front end's own headers, and "Name.h" beside it
#   "gdbstub/GdbServer.h"  the server that cli/ runs: another front end's
#                    public header
#   <...>            system and third-party headers, unless the path
#                    starts with a directory of this tree (<core/...>)
# Each violation is reported as FILE:LINE: the include, and the check fails.
# On success it touches STAMP, if given, so the build re-runs it only when
# a front end's file (or this script) changes.
cmake_minimum_required(VERSION 3.20)

if(NOT SOURCE_DIR OR NOT DEFINED FRONT_ENDS)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=DIR -DFRONT_ENDS=a,b [-DSTAMP=FILE] -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
string(REPLACE "," ";" front_ends "${FRONT_ENDS}")

# Why the include is not allowed, or "" if it is.
function(check_include front_end quote path out)
  set(${out} "" PARENT_SCOPE)
  if(quote STREQUAL "<")
    string(REGEX MATCH "^[^/]+" top "${path}")
    if(NOT top OR NOT IS_DIRECTORY "${SOURCE_DIR}/${top}" OR NOT path MATCHES "/")
      return()  # a system or third-party header
    endif()
  endif()
  if(path MATCHES "(^|/)\\.\\.(/|$)")
    set(${out} "a path with .. in it" PARENT_SCOPE)
  elseif(path MATCHES "^core/api/internal/")
    set(${out} "core/api/internal/ is private to rewind_api" PARENT_SCOPE)
  elseif(path MATCHES "^core/(api|base)/" OR path STREQUAL "gdbstub/GdbServer.h")
  elseif(path MATCHES "^${front_end}/")
  elseif(quote STREQUAL "\"" AND NOT path MATCHES "/")
    # "Name.h": the file beside the includer, inside the front end.
  else()
    set(${out} "not core/api/, core/base/, ${front_end}/ or gdbstub/GdbServer.h" PARENT_SCOPE)
  endif()
endfunction()

set(violations "")
set(checked 0)
foreach(front_end IN LISTS front_ends)
  if(NOT IS_DIRECTORY "${SOURCE_DIR}/${front_end}")
    continue()  # not (yet) in this tree
  endif()
  set(patterns "")
  foreach(ext h hh hpp c cc cpp cxx inc)
    list(APPEND patterns "${SOURCE_DIR}/${front_end}/*.${ext}")
  endforeach()
  file(GLOB_RECURSE files ${patterns})
  list(SORT files)
  foreach(file IN LISTS files)
    math(EXPR checked "${checked} + 1")
    file(READ "${file}" text)
    # One list element per line. CMake lists treat ';', '\' and '[' ']'
    # specially, so they are replaced first: include lines never hold them.
    string(REPLACE "\\" "/" text "${text}")
    string(REPLACE ";" "," text "${text}")
    string(REPLACE "[" "(" text "${text}")
    string(REPLACE "]" ")" text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(line_no 0)
    foreach(line IN LISTS lines)
      math(EXPR line_no "${line_no} + 1")
      if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*([<\"])([^\">]*)[\">]")
        continue()
      endif()
      set(quote "${CMAKE_MATCH_1}")
      set(path "${CMAKE_MATCH_2}")
      check_include("${front_end}" "${quote}" "${path}" why)
      if(why)
        file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
        if(quote STREQUAL "<")
          set(shown "<${path}>")
        else()
          set(shown "\"${path}\"")
        endif()
        string(APPEND violations "  ${rel}:${line_no}: #include ${shown}: ${why}\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR
    "front ends reach the engine only through core/api/ (docs/style.md, \"one seam\"):\n"
    "${violations}"
    "Add what the front end needs to a core/api/ header instead.")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
