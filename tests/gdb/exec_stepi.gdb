break execv
continue
python
# Single-steps to execve's `syscall` instruction (a few instructions on).
for _ in range(64):
    if "syscall" in gdb.execute("x/i $pc", to_string=True):
        break
    gdb.execute("stepi", to_string=True)
end
x/i $pc
stepi
info inferiors
