break tick
continue
print counter
