-- conf.lua: the grammar of moonboxd.conf and of policy files, in LPeg.
-- Trusted code: it runs in the daemon's own parsing state, never in a
-- sandbox. It turns text into a tree of statements and leaves their meaning
-- to C (conf.c):
--
--   file      statements, then the end
--   statement word { argument } ( "{" statements "}" | end of statement )
--   argument  "string" | number with an optional unit (16M, 200ms, 0660) | word
--   end       newline, ";", a comment, "}" ahead, or the end of the text
--   comment   "#" to the end of the line
--
-- A statement is { name, line = n, col = n, args = { … }, block = { … } };
-- an argument is { kind = "string" | "number" | "word", text = …, pos = n }.
-- A syntax error raises { pos = n, expected = "…" }.
local lpeg = ...
local P, R, S, V, C, Ct, Cp, Cc, Cmt =
	lpeg.P, lpeg.R, lpeg.S, lpeg.V, lpeg.C, lpeg.Ct, lpeg.Cp, lpeg.Cc, lpeg.Cmt

local function expected(what)
	return Cmt(Cp(), function(_, pos) error({ pos = pos, expected = what }, 0) end)
end

local nl = P"\r"^-1 * P"\n"
local comment = P"#" * (1 - nl)^0
local hspace = S" \t"^0
local space = (S" \t" + nl + comment)^0

local alpha = R("az", "AZ") + P"_"
local word = C(alpha * (alpha + R"09" + S".-/*:")^0)
local number = C(R"09"^1 * (P"." * R"09"^1)^-1 * R("az", "AZ")^0)

local escape = P"\\" * (C(S'"\\') + P"n" * Cc"\n" + P"t" * Cc"\t" +
	expected([[an escape: \" \\ \n or \t]]))
local char = C((1 - S'"\\\n')^1)
local string = P'"' * Ct((char + escape)^0) / table.concat *
	(P'"' + expected("a closing quote on the same line"))

local function arg(kind, patt)
	return Ct(Cp() / function(p) return p end * patt) /
	    function(t) return { kind = kind, pos = t[1], text = t[2] } end
end
local argument = arg("string", string) + arg("number", number) + arg("word", word)

local eos = hspace * (P";" + nl + comment + #P"}" + -P(1))

local grammar = P{ "file",
	file = space * Ct((V"statement" * space)^0) * (-P(1) + expected("a statement")),
	statement = Ct(Cp() / function(p) return p end * word *
		Ct((S" \t"^1 * argument)^0) * hspace *
		(V"block" + eos / function() end + expected("an argument, '{', ';' or a newline"))) /
		function(t) return { name = t[2], pos = t[1], args = t[3], block = t[4] } end,
	block = P"{" * space * Ct((V"statement" * space)^0) *
		(P"}" + expected("a statement or '}'")),
}

-- parse(text): the tree, or raises { pos, expected }.
return function(text)
	return grammar:match(text)
end
