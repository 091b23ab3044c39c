-- Wait scores order the line: higher priority first, then arrival. A score is
-- (7 - prio) * 2^50 + ord, where ord = arrival sequence * 2^16; the 2^16 gap
-- between neighbours leaves room for explicit reorders. Every score stays an
-- integer below 2^53, so doubles hold it exactly.
local PRIO_UNIT = 1125899906842624 -- 2^50
local ORD_GAP = 65536              -- 2^16
local MAX_LEVELS = 8

local function waitScore(prio, ord)
  return (MAX_LEVELS - 1 - prio) * PRIO_UNIT + ord
end

-- ordOf(score, prio): the arrival part of a wait score.
local function ordOf(score, prio)
  return score - (MAX_LEVELS - 1 - prio) * PRIO_UNIT
end
