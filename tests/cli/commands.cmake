# The rewind command's habits (tests/e2e/cli_commands.sh): help, man pages
# and completion from one table, ls/rm/mv, record --env and -w, gdb's first
# screen with -e and -x, LLDB with -e and -x.
foreach(case help completion traces record gdb lldb)
  add_test(NAME cli.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/cli_commands.sh ${case}
                   $<TARGET_FILE:rewind> ${CMAKE_BINARY_DIR} ${REWIND_TEST_BIN})
  set_tests_properties(cli.${case} PROPERTIES LABELS cli TIMEOUT 600)
endforeach()
