-- bug: Negation overflow in getlocal/setlocal (5.4.4), and the hook bugs found later (a call hook called twice when a count hook yields; yielding in a hook)
-- reachable: no: they need the debug library (getlocal, setlocal, sethook), which is absent; the sandbox's own count hook never yields
-- expect: ok
-- result: {"debug":"nil","getlocal":"nil","sethook":"nil","via_string":"nil","via_package":"nil"}
return function(event, ctx)
	return {
		debug = type(debug),
		getlocal = type(debug and debug.getlocal),
		sethook = type(debug and debug.sethook),
		via_string = type(("").debug),
		via_package = type(package),
	}
end
