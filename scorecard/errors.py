"""The project's exceptions: one base class so the CLI can print any expected failure
as one clear message, without a traceback."""


class ScorecardError(Exception):
    """An expected failure that a user can fix; the message says what and where."""

    exit_code = 1


class InputError(ScorecardError):
    """An input file cannot be used: unreadable, a required column missing, a broken unit tree."""

    exit_code = 2


class ConfigError(ScorecardError):
    """The configuration file or the KPI catalog is invalid."""

    exit_code = 3


class PublishError(ScorecardError):
    """Publishing failed; the published site was left untouched."""

    exit_code = 4
