"""Errors raised while configuring and running the deployment.

DeployError
├── SettingsError        an environment variable holds an invalid value
├── ServerStartError     an embedded server did not start or answer
├── ServerUnreachable    a server named by URL does not answer
└── ServiceFailed        a service run by `vq up` ended with an error

`vq` turns every DeployError into a one-line message and exit status 1.
"""


class DeployError(Exception):
    """Base class of the errors the deployment raises."""


class SettingsError(DeployError):
    """An environment variable holds an invalid value."""


class ServerStartError(DeployError):
    """An embedded server did not start or did not answer in time."""


class ServerUnreachable(DeployError):
    """A server named by URL does not answer."""


class ServiceFailed(DeployError):
    """A service run by `vq up` ended with an error."""
