-- returns_a_table.lua
return { handle = 1 }
