break *steps_begin
continue
x/i $pc
stepi
x/i $pc
stepi
x/i $pc
stepi
x/i $pc
stepi
x/i $pc
stepi
x/i $pc
stepi
x/i $pc
print $rdi == $rsi && $rdi > 0
