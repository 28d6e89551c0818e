"""The rule book: the user's rule files on disk, loaded with file:line errors, followed live, and backtested."""
