break on_alarm
continue
print stop
set $at_signal = iterations
print $at_signal > 0
delete
continue
watch stop
reverse-continue
print iterations == $at_signal
reverse-continue
