-- Domain failure codes, returned as {code}. core/errors.py maps each one to
-- an exception; a test checks that the two lists agree.
local E_QUEUE_NOT_FOUND = -1
local E_QUEUE_CLOSED = -2
local E_JOINS_PAUSED = -3
local E_QUEUE_FULL = -4
local E_UNKNOWN_PRIORITY = -5
local E_SESSION_NOT_FOUND = -6
local E_INVALID_TRANSITION = -7
local E_NOT_OPEN_YET = -8
local E_WRONG_MODE = -9
local E_MODE_IMMUTABLE = -10
local E_SHUFFLE_NOT_DUE = -11
local E_REORDER_NO_ROOM = -12
local E_STALE_LEADER = -13
local E_QUEUE_PAUSED = -14
local E_OVER_LIMIT = -15
