"""Log lines as key=value fields, one event a line, on standard error."""

import logging
import time

LOG_FORMAT = (
    "time=%(asctime)s.%(msecs)03dZ level=%(levelname)s logger=%(name)s %(message)s"
)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def configure_logging(level: str) -> None:
    """Send every logger's records to standard error in the key=value format."""
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
