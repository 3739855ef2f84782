-- authz.lua: POST /authz/check for wrk, with the bodies token_world wrote.
--   BODIES  a file with one JSON body per line (checks.txt or batch.txt)
--   TOKEN   the calling app's access token (client_credentials)
-- Each thread walks the bodies round robin from its own offset, so the
-- threads do not ask the same question at the same moment.  Requests are
-- formatted once, in init, so the client spends its time sending.
local n = 0
function setup(thread)
	n = n + 1
	thread:set("id", n)
end

local reqs = {}
local i = 0

function init(args)
	local headers = {
		["Content-Type"] = "application/json",
		["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or ""),
	}
	local file = assert(os.getenv("BODIES"), "BODIES is not set")
	for line in io.lines(file) do
		reqs[#reqs + 1] = wrk.format("POST", nil, headers, line)
	end
	i = ((id or 1) * 7919) % #reqs
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end
