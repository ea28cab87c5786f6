"""Errors that are the user's to fix, reported as one line and exit status 2."""


class UserError(Exception):
    """An error caused by the user's input or options rather than by a bug."""


class InputError(UserError):
    """Invalid input data, located by file, then playlist or line, then field.

    The message reads like ``data/x.json: playlist 3 (pid 12): tracks[5]: missing field 'track_uri'``.
    All parts are plain strings so that the error pickles across worker processes.
    """

    def __init__(self, path: str, message: str, where: str | None = None, field: str | None = None):
        self.path = str(path)
        self.message = message
        self.where = where
        self.field = field
        super().__init__(self.path, message, where, field)

    def __str__(self) -> str:
        parts = [self.path]
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)
