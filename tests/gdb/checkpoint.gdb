break tick
continue
continue
checkpoint
continue
continue
print counter
restart 1
print counter
print i
monitor info checkpoints
monitor when
