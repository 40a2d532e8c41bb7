"""The one exception type that sitool reports to users as a single clear line."""


class SitoolError(Exception):
    """A user-facing error: the message names the file or setting at fault and the fix.

    The CLI prints ``error: <message>`` and exits with status 1, without a traceback.
    """
