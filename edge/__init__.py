"""The edge: the Starlette app in front of the queue engine.

Visitor API under ``/v1``, the waiting room at ``/w/{queue}``, JWKS, the
WebSocket at ``/ws``, kiosk tickets, health checks. ``edge.app.create_app``
builds it; ``edge.server`` runs it under uvicorn.
"""
