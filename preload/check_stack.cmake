# Run after librewind-preload.so is built: the library's dead frames must fit
# in what entry.S zeroes below the program's stack pointer after each call
# (RWD_ZEROED_STACK), or record and replay could leave different bytes there
# for the program to find (docs/syscallbuf.md, "Registers and stack").
#
# GCC's -fstack-usage lists each function's frame. The library has no
# recursion, so the sum of all frames, plus a return address for each and
# the syscall helpers' 64 bytes, bounds any chain of calls.
#
# usage: cmake -DSU=preload.cc.su -DZEROED=1024 -P check_stack.cmake
if(NOT EXISTS "${SU}")
  message(FATAL_ERROR "check_stack: ${SU} is missing: the compiler did not write -fstack-usage's "
                      "report, so the zeroed depth of preload/entry.S cannot be checked")
endif()
file(STRINGS "${SU}" lines)
set(total 64)
foreach(line IN LISTS lines)
  if(line MATCHES "\t([0-9]+)\t(static|dynamic)")
    if(CMAKE_MATCH_2 STREQUAL "dynamic")
      message(FATAL_ERROR "check_stack: a frame of dynamic size in the preload library: ${line}")
    endif()
    math(EXPR total "${total} + ${CMAKE_MATCH_1} + 8")
  endif()
endforeach()
if(total GREATER ZEROED)
  message(FATAL_ERROR "check_stack: the preload library's frames may reach ${total} bytes below "
                      "its entry, more than the ${ZEROED} that entry.S zeroes: raise "
                      "REWIND_PRELOAD_ZEROED_STACK in preload/CMakeLists.txt")
endif()
