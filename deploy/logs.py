"""Log lines as key=value fields, one event a line, on standard error.

Each line names the process (pid) and the task that wrote it, so that the
lines of `vq up`, where the edge and a worker share one process, and of
several `vq worker` processes tell who did what.
"""

import asyncio
import logging
import time

LOG_FORMAT = (
    "time=%(asctime)s.%(msecs)03dZ level=%(levelname)s pid=%(process)d "
    "task=%(task)s logger=%(name)s %(message)s"
)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


class TaskName(logging.Filter):
    """Puts the name of the asyncio task that logs in ``record.task``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no event loop in this thread
            task = None
        record.task = task.get_name() if task is not None else "main"
        return True


def configure_logging(level: str) -> None:
    """Send every logger's records to standard error in the key=value format."""
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(TaskName())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
