"""Every Redis key of the queue engine.

All keys of one queue share the hash tag ``{<queue id>}`` so that each script
touches a single slot and runs unchanged on Redis Cluster. The stream key is
also the channel on which the scripts publish live notices.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The keys of one queue."""

    cfg: str  # hash: configuration (core/model.py field names)
    stats: str  # hash: counters, bucket, ticket numbers, rates
    wait: str  # sorted set: the waiting line by wait score
    pre: str  # sorted set: the pre-queue by draw score
    active: str  # sorted set: released or called sessions
    rec: str  # hash: session id -> record (lua/includes/record.lua)
    meta: str  # hash: session id -> metadata JSON
    ctr: str  # sorted set: counter name -> last activity ms
    ev: str  # stream: one event per state change; notice channel
    site: str  # string: the waiting room's presentation (edge), JSON
    leader: str  # string: owner of the release ticker lease
    fence: str  # string: fencing token, bumped at each new ticker lease

    @classmethod
    def of(cls, prefix: str, queue_id: str) -> QueueKeys:
        """The keys of ``queue_id`` under ``prefix`` (ids validated first)."""
        base = f"{prefix}:{{{queue_id}}}:"
        return cls(
            cfg=base + "cfg",
            stats=base + "stats",
            wait=base + "wait",
            pre=base + "pre",
            active=base + "active",
            rec=base + "rec",
            meta=base + "meta",
            ctr=base + "ctr",
            ev=base + "ev",
            site=base + "site",
            leader=base + "leader",
            fence=base + "fence",
        )


def registry_key(prefix: str) -> str:
    """The set of every queue id: workers find new queues here, not by
    scanning keys. It has no hash tag; no script touches it."""
    return f"{prefix}:queues"
