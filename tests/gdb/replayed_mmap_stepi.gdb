break marker
continue
# kReplayedSyscallInsn (preload/abi.h): where replay's library makes the mmap.
break *0x70000030
continue
x/i $pc
stepi
print/x $pc
delete
set can-use-hw-watchpoints 0
watch progress
continue
print progress
continue
