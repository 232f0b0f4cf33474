#!/bin/bash
# A shim as launchers are: bash execs env, which execs python3 (the test
# records this script; gdb must follow both execs, and back). The system's
# python3, not a version manager's shim in PATH.
export PATH=/usr/bin:/bin
exec env python3 -c '
import os
for i in range(300):
    os.getpid()
'
