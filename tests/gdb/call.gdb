break tick
continue
continue
print square(3)
print counter
continue
print counter
