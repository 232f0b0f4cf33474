break tick
continue
shell python3 @GDBTESTS@/listening_sockets.py
print (int)puts("written by the program, not into the protocol")
print (int)fflush(0)
print counter
