-- lint.lua: moonbox check's reading of a rule (src/lint.c). It parses the
-- source as data with an LPeg grammar of Lua 5.4 (the syntax of the
-- reference manual, section 9, with lparser.c's precedences), resolves
-- every name through the scopes the manual gives, and reports:
--
--   reads of globals that neither the sandbox nor the file defines,
--   writes to globals, fields of the sandbox's library tables that do not
--   exist, a chunk that does not return a function, and the capability
--   calls whose arguments are constants (for --policy).
--
-- Trusted code: it runs in a plain Lua state of its own, in moonbox check's
-- contained child, after the rule compiled; it never runs the rule.
--
-- Called with lpeg, the sandbox's globals ({ name = true | { field =
-- true, ... } }) and whether the file is a test file (which need not
-- return a function); returns { lint = function(text), locate = function(text,
-- line, near) }. lint returns { diags = { { line, col, code, message } },
-- calls = { { line, col, cap, method, value, complete, http_method } } }.
local lpeg, sandbox, test_file = ...
local P, R, S, V, C, Cc, Cp, Ct, Cmt =
	lpeg.P, lpeg.R, lpeg.S, lpeg.V, lpeg.C, lpeg.Cc, lpeg.Cp, lpeg.Ct, lpeg.Cmt
local byte, char, find, sub, format = string.byte, string.char, string.find,
	string.sub, string.format
local concat, insert, sort = table.concat, table.insert, table.sort

-- A rule compiled, so its nesting is within Lua's 200 levels; each level
-- of an expression takes some twenty backtrack entries.
lpeg.setmaxstack(20000)

---------------------------------------------------------------------------
-- Lexical elements
---------------------------------------------------------------------------

-- The furthest token start reached: where a failed parse stopped.
local furthest = 0
local Mark = Cmt(P(0), function(_, i)
	if i > furthest then furthest = i end
	return true
end)

-- Newlines as Lua counts them: \n, \r, \r\n, \n\r.
local function newlines(s)
	return (s:gsub("\r\n", "\n"):gsub("\n\r", "\n"):gsub("\r", "\n"))
end

-- A long bracket [==[ ... ]==]: its text, the first newline dropped.
local function long_close(s, i, eq)
	local a, b = find(s, "]" .. eq .. "]", i, true)
	if not a then return false end
	local text = sub(s, i, a - 1)
	local first = sub(text, 1, 2)
	if first == "\r\n" or first == "\n\r" then
		text = sub(text, 3)
	elseif sub(first, 1, 1) == "\n" or sub(first, 1, 1) == "\r" then
		text = sub(text, 2)
	end
	return b + 1, newlines(text)
end
local longbracket = Cmt(P"[" * C(P"="^0) * P"[", long_close)

local nl = P"\r\n" + P"\n\r" + S"\r\n"
local comment = P"--" * (longbracket / 0 + (1 - nl)^0)
local skip = (S" \t\r\n\f\v" + comment)^0

local idstart = R("az", "AZ") + P"_"
local idrest = idstart + R"09"

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in
	local nil not or repeat return then true until while]]):gmatch("%a+") do
	keywords[w] = true
end

local function K(w) return Mark * P(w) * -idrest * skip end
local function O(p) return Mark * P(p) * skip end
-- A symbol that is not the start of a longer one ('=' but not '==').
local function O2(p, longer) return Mark * P(p) * -longer * skip end

local name = Cmt(C(idstart * idrest^0), function(_, i, n)
	if keywords[n] then return false end
	return i, n
end)
local NameNode = Mark * Cp() * name * skip /
	function(pos, n) return { tag = "Name", name = n, pos = pos } end

-- Escapes of short strings, for the values of constants.
local simple_escapes = { a = "\a", b = "\b", f = "\f", n = "\n", r = "\r",
	t = "\t", v = "\v", ["\\"] = "\\", ['"'] = '"', ["'"] = "'" }

local function utf8_encode(x)
	if x < 0x80 then return char(x) end
	local bytes, limit = {}, 0x3f
	while x > limit do
		insert(bytes, 1, char(0x80 | (x & 0x3f)))
		x = x >> 6
		limit = limit >> 1
	end
	insert(bytes, 1, char((~limit << 1) & 0xff | x))
	return concat(bytes)
end

-- The escape after a backslash at j: its text and where the string goes on.
local function escape(s, j)
	local c = sub(s, j, j)
	if simple_escapes[c] then return simple_escapes[c], j + 1 end
	if c == "\n" or c == "\r" then
		local two = sub(s, j, j + 1)
		return "\n", (two == "\r\n" or two == "\n\r") and j + 2 or j + 1
	end
	if c == "x" then
		return char(tonumber(sub(s, j + 1, j + 2), 16)), j + 3
	end
	if c == "z" then
		local _, e = find(s, "^[ \t\r\n\f\v]*", j + 1)
		return "", e + 1
	end
	if c == "u" then
		local _, e, hex = find(s, "^{(%x+)}", j + 1)
		return utf8_encode(tonumber(hex, 16)), e + 1
	end
	local _, e, digits = find(s, "^(%d%d?%d?)", j)
	return char(tonumber(digits)), e + 1
end

local specials = { ['"'] = '[\\\r\n"]', ["'"] = "[\\\r\n']" }

local function short_string(s, i, q)
	local out, j = {}, i
	while true do
		local k = find(s, specials[q], j)
		if not k then return false end
		out[#out + 1] = sub(s, j, k - 1)
		local c = sub(s, k, k)
		if c == q then return k + 1, concat(out) end
		if c ~= "\\" then return false end
		out[#out + 1], j = escape(s, k + 1)
	end
end

local StringNode = Mark * Cp() * (Cmt(C(S"\"'"), short_string) + longbracket) *
	skip / function(pos, v) return { tag = "String", value = v, pos = pos } end

local hex = R("09", "af", "AF")
local hexnum = P"0" * S"xX" * (hex^1 * (P"." * hex^0)^-1 + P"." * hex^1) *
	(S"pP" * S"+-"^-1 * R"09"^1)^-1
local decnum = (R"09"^1 * (P"." * R"09"^0)^-1 + P"." * R"09"^1) *
	(S"eE" * S"+-"^-1 * R"09"^1)^-1
local NumberNode = Mark * Cp() * C(hexnum + decnum) * -idrest * skip /
	function(pos, t) return { tag = "Number", text = t, pos = pos } end

---------------------------------------------------------------------------
-- The tree
---------------------------------------------------------------------------

local function node(tag)
	return function() return { tag = tag } end
end

-- { e1, op1, e2, op2, e3 }: left-associative binary operations.
local function fold_left(t)
	local e = t[1]
	for i = 2, #t, 2 do
		e = { tag = "Op", op = t[i], l = e, r = t[i + 1] }
	end
	return e
end

-- { e1, e2, e3 } joined with one right-associative operator.
local function fold_right(op)
	return function(t)
		local e = t[#t]
		for i = #t - 1, 1, -1 do
			e = { tag = "Op", op = op, l = t[i], r = e }
		end
		return e
	end
end

-- A primary expression and its suffixes: .name [key] :name(args) (args).
local function fold_suffixes(t)
	local e = t[1]
	for i = 2, #t do
		local s = t[i]
		if s.kind == "." or s.kind == "[" then
			e = { tag = "Index", obj = e, key = s.key, pos = s.pos }
		elseif s.kind == ":" then
			e = { tag = "Invoke", obj = e, name = s.name, args = s.args,
				pos = s.pos }
		else
			e = { tag = "Call", fn = e, args = s.args, pos = s.pos }
		end
	end
	return e
end

-- LPeg nests captures at most 200 deep (lpcap.c), and an expression goes
-- through a dozen levels: each statement and expression is evaluated at
-- match time instead, which leaves one flat capture in its place.
local function flat(patt)
	return Cmt(patt, function(_, i, ...) return i, ... end)
end

-- LPeg also holds at most 32767 such values at once (lpvm.c): a block's
-- statements are collapsed 64 at a time, and spread out again here.
local function ungroup(t)
	local out = {}
	for _, e in ipairs(t) do
		if e.tag then
			out[#out + 1] = e
		else
			for _, s in ipairs(e) do out[#out + 1] = s end
		end
	end
	return out
end

local function field_name(n)
	return { tag = "String", value = n.name, pos = n.pos }
end

local function is_call(e)
	return e.tag == "Call" or e.tag == "Invoke"
end

-- An expression statement: an assignment, or else it must be a call.
local function exprstat(_, i, targets, exps)
	if exps then
		return i, { tag = "Set", targets = targets, exps = exps }
	end
	if #targets == 1 and is_call(targets[1]) then
		return i, { tag = "CallStat", call = targets[1] }
	end
	return false
end

-- function a.b.c:m: the target, and whether there is an implicit self.
local function funcname(t)
	local e = t[1]
	for i = 2, #t, 2 do
		e = { tag = "Index", obj = e, key = field_name(t[i + 1]),
			pos = t[i + 1].pos }
	end
	return e, #t > 1 and t[#t - 1] == ":"
end

local function params(t)
	local p = { vararg = false }
	for _, v in ipairs(t) do
		if v == true then p.vararg = true else p[#p + 1] = v end
	end
	return p
end

local G = P{ "chunk",
	chunk = skip * V"block" * -P(1),
	block = Ct(flat(Ct(V"stat" * V"stat"^-63))^0 * V"retstat"^-1) / ungroup,

	stat = flat(V"stat_"),
	stat_ = O";" / 0
		+ O"::" * NameNode * O"::" /
			function(n) return { tag = "Label", name = n } end
		+ K"break" / node("Break")
		+ K"goto" * NameNode / function(n) return { tag = "Goto", name = n } end
		+ K"do" * V"block" * K"end" /
			function(b) return { tag = "Do", body = b } end
		+ K"while" * V"exp" * K"do" * V"block" * K"end" /
			function(c, b) return { tag = "While", cond = c, body = b } end
		+ K"repeat" * V"block" * K"until" * V"exp" /
			function(b, c) return { tag = "Repeat", body = b, cond = c } end
		+ V"ifstat" + V"forstat" + V"funcstat" + V"localstat"
		+ Cmt(Ct(V"suffixedexp" * (O"," * V"suffixedexp")^0) *
			(O2("=", P"=") * Ct(V"explist"))^-1, exprstat),

	retstat = Mark * Cp() * K"return" * Ct(V"explist"^-1) * O";"^-1 /
		function(pos, e) return { tag = "Return", exps = e, pos = pos } end,

	ifstat = K"if" * V"exp" * K"then" * V"block" *
		Ct((K"elseif" * Ct(V"exp" * K"then" * V"block"))^0) *
		(K"else" * V"block")^-1 * K"end" /
		function(c, b, elifs, orelse)
			local conds, bodies = { c }, { b }
			for _, e in ipairs(elifs) do
				conds[#conds + 1], bodies[#bodies + 1] = e[1], e[2]
			end
			return { tag = "If", conds = conds, bodies = bodies,
				orelse = orelse }
		end,

	forstat = K"for" * (V"fornum" + V"forin"),
	fornum = NameNode * O2("=", P"=") * V"exp" * O"," * V"exp" *
		(O"," * V"exp")^-1 * K"do" * V"block" * K"end" /
		function(var, from, to, step, body)
			if body == nil then step, body = nil, step end
			return { tag = "Fornum", var = var, from = from, to = to,
				step = step, body = body }
		end,
	forin = Ct(NameNode * (O"," * NameNode)^0) * K"in" * Ct(V"explist") *
		K"do" * V"block" * K"end" /
		function(vars, exps, body)
			return { tag = "Forin", vars = vars, exps = exps, body = body }
		end,

	funcstat = K"function" * (Ct(NameNode * (O"." * Cc"." * NameNode)^0 *
		(O2(":", P":") * Cc":" * NameNode)^-1) / funcname) * V"funcbody" /
		function(target, method, f)
			f.method = method
			return { tag = "FunctionStat", target = target, func = f }
		end,

	localstat = K"local" * (K"function" * NameNode * V"funcbody" /
			function(n, f)
				return { tag = "LocalFunction", name = n, func = f }
			end
		+ Ct(V"attname" * (O"," * V"attname")^0) *
			(O2("=", P"=") * Ct(V"explist"))^-1 /
			function(names, exps)
				return { tag = "Local", names = names, exps = exps or {} }
			end),
	attname = NameNode * (O"<" * NameNode * O">")^-1 /
		function(n, attrib)
			n.attrib = attrib and attrib.name
			return n
		end,

	funcbody = Mark * Cp() * O"(" * (Ct(V"parlist"^-1) / params) * O")" *
		V"block" * K"end" /
		function(pos, p, body)
			return { tag = "Function", params = p, body = body, pos = pos }
		end,
	parlist = NameNode * (O"," * NameNode)^0 * (O"," * O"..." * Cc(true))^-1
		+ O"..." * Cc(true),

	explist = V"exp" * (O"," * V"exp")^0,

	exp = flat(V"or_"),
	or_ = Ct(V"and_" * (K"or" * Cc"or" * V"and_")^0) / fold_left,
	and_ = Ct(V"cmp" * (K"and" * Cc"and" * V"cmp")^0) / fold_left,
	cmp = Ct(V"bor" * (V"cmpop" * V"bor")^0) / fold_left,
	cmpop = Mark * C(P"==" + P"~=" + P"<=" + P">=" + P"<" * -P"<" +
		P">" * -P">") * skip,
	bor = Ct(V"bxor" * (O"|" * Cc"|" * V"bxor")^0) / fold_left,
	bxor = Ct(V"band" * (O2("~", P"=") * Cc"~" * V"band")^0) / fold_left,
	band = Ct(V"shift" * (O"&" * Cc"&" * V"shift")^0) / fold_left,
	shift = Ct(V"concat" * (Mark * C(P"<<" + P">>") * skip * V"concat")^0) /
		fold_left,
	concat = Ct(V"add" * (O2("..", P".") * V"add")^0) / fold_right(".."),
	add = Ct(V"mul" * (Mark * C(S"+-") * skip * V"mul")^0) / fold_left,
	mul = Ct(V"unary" * (Mark * C(P"*" + P"//" + P"/" + P"%") * skip *
		V"unary")^0) / fold_left,
	unary = Mark * Cp() * (K"not" * Cc"not" + Mark * C(S"#-~") * skip) *
		flat(V"unary") /
		function(pos, op, e) return { tag = "Unop", op = op, e = e, pos = pos } end
		+ V"pow",
	pow = Ct(V"simple" * (O"^" * flat(V"unary"))^-1) /
		function(t)
			if #t == 1 then return t[1] end
			return { tag = "Op", op = "^", l = t[1], r = t[2] }
		end,

	simple = K"nil" / node("Nil") + K"true" / node("True")
		+ K"false" / node("False") + NumberNode + StringNode
		+ Mark * Cp() * O"..." / function(pos) return { tag = "Vararg", pos = pos } end
		+ K"function" * V"funcbody" + V"table" + V"suffixedexp",

	primary = NameNode
		+ Mark * Cp() * O"(" * V"exp" * O")" /
			function(pos, e) return { tag = "Paren", e = e, pos = pos } end,
	suffixedexp = Ct(V"primary" * V"suffix"^0) / fold_suffixes,
	suffix = Mark * Cp() * O2(".", P".") * NameNode /
			function(pos, n) return { kind = ".", key = field_name(n), pos = pos } end
		+ Mark * Cp() * O2("[", S"[=") * V"exp" * O"]" /
			function(pos, e) return { kind = "[", key = e, pos = pos } end
		+ Mark * Cp() * O2(":", P":") * NameNode * V"callargs" /
			function(pos, n, a) return { kind = ":", name = n, args = a, pos = pos } end
		+ Mark * Cp() * V"callargs" /
			function(pos, a) return { kind = "(", args = a, pos = pos } end,
	callargs = O"(" * Ct(V"explist"^-1) * O")" + Ct(V"table" + StringNode),

	table = Mark * Cp() * O"{" * Ct((V"field" * (S",;" * skip * V"field")^0 *
		(S",;" * skip)^-1)^-1) * O"}" /
		function(pos, fields) return { tag = "Table", fields = fields, pos = pos } end,
	field = Mark * O2("[", S"[=") * V"exp" * O"]" * O2("=", P"=") * V"exp" /
			function(k, v) return { key = k, value = v } end
		+ NameNode * O2("=", P"=") * V"exp" /
			function(n, v) return { name = n, key = field_name(n), value = v } end
		+ V"exp" / function(v) return { value = v } end,
}

---------------------------------------------------------------------------
-- Positions
---------------------------------------------------------------------------

local function line_starts(text)
	local starts, i = { 1 }, 1
	while true do
		local a = find(text, "[\r\n]", i)
		if not a then return starts end
		local two = sub(text, a, a + 1)
		i = (two == "\r\n" or two == "\n\r") and a + 2 or a + 1
		starts[#starts + 1] = i
	end
end

-- Line and column (bytes, from 1) of byte pos.
local function where(starts, pos)
	local lo, hi = 1, #starts
	while lo < hi do
		local mid = (lo + hi + 1) // 2
		if starts[mid] <= pos then lo = mid else hi = mid - 1 end
	end
	return lo, pos - starts[lo] + 1
end

---------------------------------------------------------------------------
-- Suggestions
---------------------------------------------------------------------------

-- Edit distance with transpositions (optimal string alignment).
local function distance(a, b)
	local la, lb = #a, #b
	if math.abs(la - lb) > 3 then return 99 end
	local d = {}
	for i = 0, la do d[i] = { [0] = i } end
	for j = 0, lb do d[0][j] = j end
	for i = 1, la do
		for j = 1, lb do
			local cost = byte(a, i) == byte(b, j) and 0 or 1
			local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1,
				d[i - 1][j - 1] + cost)
			if i > 1 and j > 1 and byte(a, i) == byte(b, j - 1) and
			    byte(a, i - 1) == byte(b, j) then
				v = math.min(v, d[i - 2][j - 2] + 1)
			end
			d[i][j] = v
		end
	end
	return d[la][lb]
end

-- How far a name may be from what was meant: none for one or two letters.
local function tolerance(n)
	return #n <= 2 and 0 or #n <= 5 and 1 or #n <= 9 and 2 or 3
end

-- The closest candidate within tolerance (ties: the first in sort order).
local function suggest(n, candidates)
	local best, bestd = nil, tolerance(n) + 1
	local names = {}
	for c in pairs(candidates) do names[#names + 1] = c end
	sort(names)
	for _, c in ipairs(names) do
		local d = c ~= n and distance(n, c) or 99
		if d < bestd then best, bestd = c, d end
	end
	return best
end

---------------------------------------------------------------------------
-- Scopes
---------------------------------------------------------------------------

local Walk = {}
Walk.__index = Walk

local function new_walk()
	return setmetatable({
		scope = nil,
		reads = {},		-- { node, visible = names }
		writes = {},		-- { node, what }
		fields = {},		-- { global, field node, write }
		field_writes = {},	-- [global] = true
		written = {},		-- globals the file assigns
		calls = {},		-- Call nodes, resolved later
		env_replaced = false,	-- the chunk assigns its _ENV
	}, Walk)
end

function Walk:open()
	self.scope = { parent = self.scope, vars = {} }
end

function Walk:close()
	self.scope = self.scope.parent
end

function Walk:declare(n, init)
	local d = { name = n.name, pos = n.pos, init = init,
		const = n.attrib == "const" or n.attrib == "close" }
	self.scope.vars[n.name] = d
	return d
end

function Walk:resolve(name)
	local s = self.scope
	while s do
		local d = s.vars[name]
		if d then return d end
		s = s.parent
	end
	return nil
end

-- The names visible here, for suggestions.
function Walk:visible()
	local names, s = {}, self.scope
	while s do
		for k in pairs(s.vars) do names[k] = true end
		s = s.parent
	end
	return names
end

-- A free name is a global unless a local _ENV is in scope.
function Walk:is_global(n)
	return n.decl == nil and n.name ~= "_ENV" and self:resolve("_ENV") == nil
end

-- _ENV.name and _G.name (the chunk's _ENV, the sandbox's _G) are the
-- global name: a Name node for it, or nil.
function Walk:global_table_field(e)
	local o = e.obj
	if o.tag ~= "Name" or e.key.tag ~= "String" or o.decl ~= nil or
	    self:resolve("_ENV") ~= nil then
		return nil
	end
	if o.name == "_ENV" or (o.name == "_G" and not self.written._G) then
		return { tag = "Name", name = e.key.value, pos = e.key.pos }
	end
	return nil
end

local walk_exp, walk_block

local function walk_list(w, list)
	for _, e in ipairs(list) do walk_exp(w, e) end
end

local exp_walkers = {
	Name = function(w, e)
		e.decl = w:resolve(e.name)
		e.global = w:is_global(e)
		if e.global then
			w.reads[#w.reads + 1] = { node = e, visible = w:visible() }
		end
	end,
	Index = function(w, e)
		walk_exp(w, e.obj)
		walk_exp(w, e.key)
		local g = w:global_table_field(e)
		if g then
			w.reads[#w.reads + 1] = { node = g, visible = w:visible() }
		elseif e.obj.tag == "Name" and e.obj.global and
		    e.key.tag == "String" then
			w.fields[#w.fields + 1] = { global = e.obj.name, key = e.key }
		end
	end,
	Call = function(w, e)
		walk_exp(w, e.fn)
		walk_list(w, e.args)
		w.calls[#w.calls + 1] = e
	end,
	Invoke = function(w, e)
		walk_exp(w, e.obj)
		walk_list(w, e.args)
	end,
	Function = function(w, e)
		w:open()
		if e.method then
			w:declare({ name = "self", pos = e.pos })
		end
		for _, p in ipairs(e.params) do w:declare(p) end
		walk_block(w, e.body, true)
		w:close()
	end,
	Op = function(w, e) walk_exp(w, e.l) walk_exp(w, e.r) end,
	Unop = function(w, e) walk_exp(w, e.e) end,
	Paren = function(w, e) walk_exp(w, e.e) end,
	Table = function(w, e)
		for _, f in ipairs(e.fields) do
			if not f.name and f.key then walk_exp(w, f.key) end
			walk_exp(w, f.value)
		end
	end,
}

walk_exp = function(w, e)
	local f = exp_walkers[e.tag]
	if f then f(w, e) end
end

-- An assignment's target: a local is marked, a global recorded.
local function walk_target(w, t, what)
	if t.tag == "Name" then
		t.decl = w:resolve(t.name)
		if t.decl then
			t.decl.assigned = true
		elseif t.name == "_ENV" then
			w.env_replaced = true
		elseif w:resolve("_ENV") == nil then
			w.writes[#w.writes + 1] = { node = t, what = what }
			w.written[t.name] = true
		end
		return
	end
	walk_exp(w, t.obj)
	walk_exp(w, t.key)
	local g = w:global_table_field(t)
	if g then
		w.writes[#w.writes + 1] = { node = g, what = what }
		w.written[g.name] = true
	elseif t.obj.tag == "Name" and t.obj.global and t.key.tag == "String" then
		w.field_writes[t.obj.name] = true
	end
end

local stat_walkers = {
	Local = function(w, s)
		walk_list(w, s.exps)
		-- the i-th expression gives the i-th name its (first) value
		for i, n in ipairs(s.names) do w:declare(n, s.exps[i]) end
	end,
	LocalFunction = function(w, s)
		w:declare(s.name, s.func)
		walk_exp(w, s.func)
	end,
	FunctionStat = function(w, s)
		walk_target(w, s.target, "function")
		walk_exp(w, s.func)
	end,
	Set = function(w, s)
		walk_list(w, s.exps)
		for _, t in ipairs(s.targets) do walk_target(w, t, "assignment") end
	end,
	CallStat = function(w, s) walk_exp(w, s.call) end,
	Do = function(w, s) walk_block(w, s.body) end,
	While = function(w, s)
		walk_exp(w, s.cond)
		walk_block(w, s.body)
	end,
	Repeat = function(w, s)
		-- until sees the block's locals
		walk_block(w, s.body, false, s.cond)
	end,
	If = function(w, s)
		for i, c in ipairs(s.conds) do
			walk_exp(w, c)
			walk_block(w, s.bodies[i])
		end
		if s.orelse then walk_block(w, s.orelse) end
	end,
	Fornum = function(w, s)
		walk_exp(w, s.from)
		walk_exp(w, s.to)
		if s.step then walk_exp(w, s.step) end
		w:open()
		w:declare(s.var)
		walk_block(w, s.body)
		w:close()
	end,
	Forin = function(w, s)
		walk_list(w, s.exps)
		w:open()
		for _, v in ipairs(s.vars) do w:declare(v) end
		walk_block(w, s.body)
		w:close()
	end,
	Return = function(w, s) walk_list(w, s.exps) end,
}

-- A block in a scope of its own (a function's body shares its parameters'
-- scope: same_scope). tail: repeat's condition, inside the block.
walk_block = function(w, block, same_scope, tail)
	if not same_scope then w:open() end
	for _, s in ipairs(block) do
		local f = stat_walkers[s.tag]
		if f then f(w, s) end
	end
	if tail then walk_exp(w, tail) end
	if not same_scope then w:close() end
end

---------------------------------------------------------------------------
-- Constants and capability calls
---------------------------------------------------------------------------

local caps = { log = true, kv = true, http = true, secrets = true,
	time = true }

-- A local whose value is known: initialised once, never assigned.
local function fixed(e)
	return e.tag == "Name" and e.decl and not e.decl.assigned and e.decl.init
end

-- A string expression's value: { s, complete }, complete false when only a
-- prefix is known ("payments:" .. id); nil when not even that.
local function constant(e, depth)
	depth = (depth or 0) + 1
	if depth > 50 then return nil end
	if e.tag == "String" then return { s = e.value, complete = true } end
	if e.tag == "Number" then
		local v = math.tointeger(tonumber(e.text))
		if v and not find(e.text, "[.eEpPxX]") then
			return { s = tostring(v), complete = true }
		end
		return nil
	end
	if e.tag == "Paren" then return constant(e.e, depth) end
	if e.tag == "Op" and e.op == ".." then
		local l = constant(e.l, depth)
		if not l or not l.complete then return l end
		local r = constant(e.r, depth)
		if not r then return { s = l.s, complete = false } end
		return { s = l.s .. r.s, complete = r.complete }
	end
	if fixed(e) then return constant(e.decl.init, depth) end
	return nil
end

-- The capability module an expression stands for (kv, or a local alias of
-- it), or nil.
local function module_of(w, e, depth)
	depth = (depth or 0) + 1
	if depth > 50 then return nil end
	if e.tag == "Name" and e.global and caps[e.name] and
	    not w.written[e.name] and not w.env_replaced then
		return e.name
	end
	if fixed(e) then return module_of(w, e.decl.init, depth) end
	return nil
end

-- The capability function a callee stands for: kv.get, or an alias.
local function function_of(w, e, depth)
	depth = (depth or 0) + 1
	if depth > 50 then return nil end
	if e.tag == "Index" and e.key.tag == "String" then
		local m = module_of(w, e.obj)
		if m then return m, e.key.value end
	end
	if fixed(e) then return function_of(w, e.decl.init, depth) end
	return nil
end

local kv_methods = { get = true, set = true, del = true, incr = true }
local log_levels = { debug = true, info = true, warn = true, error = true }

-- The named fields of a table constructor.
local function table_fields(t)
	local f = {}
	for _, field in ipairs(t.fields) do
		if field.key and field.key.tag == "String" then
			f[field.key.value] = field.value
		end
	end
	return f
end

local call_readers = {
	kv = function(method, args)
		if not kv_methods[method] or not args[1] then return nil end
		local k = constant(args[1])
		return k and { value = k.s, complete = k.complete }
	end,
	secrets = function(method, args)
		if method ~= "get" or not args[1] then return nil end
		local k = constant(args[1])
		return k and k.complete and { value = k.s, complete = true }
	end,
	log = function(method)
		return log_levels[method] and { complete = true } or nil
	end,
	http = function(method, args)
		if method ~= "request" or not args[1] or args[1].tag ~= "Table" then
			return nil
		end
		local f = table_fields(args[1])
		local url = f.url and constant(f.url)
		if not url or not url.complete then return nil end
		local m
		if f.method == nil then
			m = "GET"
		else
			local c = constant(f.method)
			m = c and c.complete and c.s:upper() or nil
		end
		return { value = url.s, complete = true, http_method = m }
	end,
}

-- Where an expression starts: its leftmost token.
local function start_of(e)
	while e.tag == "Index" or e.tag == "Call" or e.tag == "Invoke" do
		e = e.obj or e.fn
	end
	return e.pos
end

local function read_call(w, call)
	local cap, method = function_of(w, call.fn)
	local reader = cap and call_readers[cap]
	local r = reader and reader(method, call.args)
	if not r then return nil end
	r.cap = cap == "secrets" and "secret" or cap
	r.method = method
	r.pos = start_of(call.fn)
	return r
end

---------------------------------------------------------------------------
-- Reports
---------------------------------------------------------------------------

local function fields_of(global)
	local t = sandbox[global]
	return type(t) == "table" and t or nil
end

local function report_reads(w, out)
	for _, r in ipairs(w.reads) do
		local n = r.node.name
		if not sandbox[n] and not w.written[n] then
			local cands = r.visible
			for k in pairs(sandbox) do cands[k] = true end
			for k in pairs(w.written) do cands[k] = true end
			local s = suggest(n, cands)
			out(r.node.pos, "undefined-global",
				format("undefined global '%s'%s", n,
				s and format("; did you mean '%s'?", s) or ""))
		end
	end
end

local function report_writes(w, out)
	for _, r in ipairs(w.writes) do
		local n = r.node.name
		if r.what == "function" then
			out(r.node.pos, "global-write", format("global function "
				.. "'%s'; declare it 'local function %s' (globals do "
				.. "not survive an invocation)", n, n))
		else
			out(r.node.pos, "global-write", format("assignment to "
				.. "global '%s'; declare it 'local' (globals do not "
				.. "survive an invocation)", n))
		end
	end
end

local function report_fields(w, out)
	for _, f in ipairs(w.fields) do
		local have = fields_of(f.global)
		local k = f.key.value
		if have and not have[k] and not w.written[f.global] and
		    not w.field_writes[f.global] then
			local s = suggest(k, have)
			out(f.key.pos, "undefined-field",
				format("undefined field '%s' of '%s'%s", k, f.global,
				s and format("; did you mean '%s'?", s) or ""))
		end
	end
end

local literal_types = { String = "string", Number = "number", Nil = "nil",
	True = "boolean", False = "boolean", Table = "table" }

-- The chunk must return a function.
local function report_return(block, text, out)
	local last = block[#block]
	if not last or last.tag ~= "Return" then
		out(#text > 0 and #text or 1, "no-function", "the rule returns "
			.. "nothing; it must end with 'return function(event, ctx) "
			.. "... end'")
	elseif #last.exps == 0 or literal_types[last.exps[1].tag] then
		local t = #last.exps == 0 and "nothing" or
			"a " .. literal_types[last.exps[1].tag] .. " value"
		out(last.pos, "no-function", "the rule returns " .. t
			.. "; it must return a function(event, ctx)")
	end
end

local function lint(text)
	furthest = 0
	local block = G:match(text)
	if not block then
		error({ pos = furthest, message = "moonbox check cannot read "
			.. "this rule (a fault of the checker: please report it)" }, 0)
	end
	local starts = line_starts(text)
	local w = new_walk()
	walk_block(w, block)
	local diags, calls = {}, {}
	local function out(pos, code, message)
		local line, col = where(starts, pos)
		diags[#diags + 1] = { line, col, code, message }
	end
	if not w.env_replaced then
		report_reads(w, out)
		report_writes(w, out)
		report_fields(w, out)
	end
	if not test_file then report_return(block, text, out) end
	for _, call in ipairs(w.calls) do
		local r = read_call(w, call)
		if r then
			local line, col = where(starts, r.pos)
			calls[#calls + 1] = { line, col, r.cap, r.method, r.value,
				r.complete, r.http_method }
		end
	end
	return { diags = diags, calls = calls }
end

-- The column of a syntax error Lua reported at line: where the grammar
-- stopped if that is on the line, else the first place near's text is,
-- else the line's first token (errors such as a goto without its label
-- name no token).
local function locate(text, line, near)
	local starts = line_starts(text)
	furthest = 0
	if not G:match(text) and furthest > 0 then
		local l, c = where(starts, furthest)
		if l == line then return c end
	end
	local from = starts[line]
	if not from then return 1 end
	local to = (starts[line + 1] or #text + 2) - 1
	if near == "<eof>" then return math.max(1, #text + 1 - from + 1) end
	local line_text = sub(text, from, to)
	if near and near ~= "" then
		local a = find(line_text, near, 1, true)
		if a then return a end
	end
	return find(line_text, "[^ \t\f\v]") or 1
end

return { lint = lint, locate = locate }
