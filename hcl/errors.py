"""The errors a user can meet. The CLI prints each as one line (``hcl: error: …``) and exits with code 1."""


class UserInputError(Exception):
    """Bad input the user can fix: the message names the file and the fix."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says which checkpoint was kept."""
