-- The funky module: the C modules (funky.native) plus the Lua half.
local native = require "funky.native"
local funky = {}
for k, v in pairs(native) do funky[k] = v end
funky.recipe = require "funky.recipe"
funky.time = require "funky.time"
funky.schedule = require "funky.schedule"
return funky
