break bump
python
for i in range(600):
    gdb.execute("continue", to_string=True)
end
print total
print last_id
delete
break finished
continue
print total
