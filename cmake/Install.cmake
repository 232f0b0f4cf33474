# What `cmake --install` puts where (docs/packaging.md). The Debian package
# (packaging/) is this install under /usr, with CMAKE_INSTALL_LIBDIR
# lib/x86_64-linux-gnu as debhelper passes it:
#
#   bin/rewind, bin/rewind-dap
#   LIBDIR/rewind/librewind-preload.so    LD_PRELOAD of recorded programs
#   LIBDIR/rewind/librewind-lldb.so       the LLDB 22 plugin (plugin load)
#   share/man/man1/rewind*.1              generated with --help's text
#   share/bash-completion/completions/rewind
#   share/doc/rewind/README.md, docs/*.md
#
# The helpers sit in a private directory, not on the linker's path: no
# program links them, rewind hands their paths to the program (LD_PRELOAD)
# and to LLDB (plugin load).
include(GNUInstallDirs)

set(REWIND_INSTALL_HELPERDIR ${CMAKE_INSTALL_LIBDIR}/rewind)

# rewind finds its helpers from where it runs (/proc/self/exe):
# bindir/<this>/librewind-preload.so. A relative path, so that an install
# to any prefix, or a moved one, works without REWIND_PRELOAD
# (find_preload_library in core/api/Recorder.cc; the rewind target gets it
# too, for the LLDB plugin's lookup).
file(RELATIVE_PATH REWIND_BINDIR_TO_HELPERDIR ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_LIBDIR}/rewind)
foreach(target rewind_api rewind)
  target_compile_definitions(${target} PRIVATE
                             REWIND_BINDIR_TO_HELPERDIR="${REWIND_BINDIR_TO_HELPERDIR}")
endforeach()

install(TARGETS rewind rewind-dap RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# No RPATH: the preload library needs only libc; the plugin's liblldb-22 is
# the one already loaded in the LLDB that loads it.
install(TARGETS rewind-preload rewind_lldb LIBRARY DESTINATION ${REWIND_INSTALL_HELPERDIR})

# Man pages and the bash completion are generated at build time from the
# commands' own --help text (cli/), into doc/ of the build tree. OPTIONAL:
# a build that made none installs none rather than failing.
install(DIRECTORY ${CMAKE_BINARY_DIR}/doc/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 OPTIONAL
        FILES_MATCHING PATTERN "*.1")
# bash-completion loads completions/<command> on first use of the command.
install(FILES ${CMAKE_BINARY_DIR}/doc/completion/rewind
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions OPTIONAL)

# The notes keep their relative links: README.md links docs/*.md.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")

# Everything the rules above install, and nothing else (no tests): what
# packaging/debian/rules builds instead of `all`. rewind_docs (cli/) writes
# the man pages and the completion.
add_custom_target(rewind_install_files)
add_dependencies(rewind_install_files rewind rewind-dap rewind-preload rewind_lldb)
if(TARGET rewind_docs)
  add_dependencies(rewind_install_files rewind_docs)
endif()
