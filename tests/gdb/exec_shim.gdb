# The recording is of exec_shim.sh: bash execs env, which execs python3.
info inferiors
continue
info inferiors
info sharedlibrary
break getpid
reverse-continue
info symbol $pc
info sharedlibrary
# Back across both execs, to the start of the history in bash.
delete
reverse-continue
info inferiors
