return function(event, ctx) return true end
