"""The one exception base of kb."""


class KbError(Exception):
    """Environment problems (no git, unwritable output): turned into a clean message and exit status 2 in cli.py."""
