"""The connector a protected site installs: ASGI or WSGI middleware.

A request with a valid admission cookie passes. A request carrying an
admission token in its query (``vq_token``, put there by the waiting
room) is verified offline against the edge's JWKS, the token goes into a
cookie and the visitor is redirected to the same URL without it. Any
other request is redirected to the waiting room, with the URL as target.

    from edge.connector import ConnectorConfig
    from edge.connector.asgi import AdmissionMiddleware

    app = AdmissionMiddleware(app, ConnectorConfig(
        edge_url="https://queue.example.com", queue_id="sale",
        origin="https://shop.example.com"))
"""

from edge.connector.gate import ConnectorConfig

__all__ = ["ConnectorConfig"]
