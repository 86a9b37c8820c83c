"""One error type for bad input: the CLI prints its message as one line and exits with code 1."""


class UserInputError(Exception):
    """Bad input the user can fix: the message names the file and the fix."""
