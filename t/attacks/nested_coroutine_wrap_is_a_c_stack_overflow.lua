-- attack: each coroutine resumes a new one inside itself, nesting C calls without end
-- expect: runtime
-- message: C stack overflow
return function(event, ctx)
	local function w() return coroutine.wrap(w)() end
	return w()
end
