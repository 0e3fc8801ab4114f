-- wrk script: counts the answers that are not a success (HTTP 200 with "error_code":0), so that a server answering
-- errors quickly is not counted as fast. Every thread counts its own; done() prints the sum.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    failed = 0
end

function response(status, headers, body)
    if status ~= 200 or not string.find(body, '"error_code":0,', 1, true) then
        failed = failed + 1
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("failed")
    end
    io.write(string.format("failed answers: %d\n", total))
end
