"""The sync engine (plain Python): the planner decides, from a folder's saved state and
the server's answer to STATUS, what a sync run must do; the IMAP session does it."""
