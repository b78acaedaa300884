-- attack: doubles a string by concatenation until it cannot be held
-- expect: memory
-- args: --memory 4M
-- message: memory limit of 4194304 bytes exceeded
return function(event, ctx)
	local s = "x"
	while true do s = s .. s end
end
