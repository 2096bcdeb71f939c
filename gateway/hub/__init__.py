"""The home hub: ``glucogate sync`` syncs configured devices unattended, for months.

:mod:`gateway.hub.loop` is the scheduler (per-device schedules, backoff, stale-sync
alarm, status), :mod:`gateway.hub.disk` keeps the store under its cap.
"""
