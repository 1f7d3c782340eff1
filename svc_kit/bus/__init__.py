"""The message bus: one small port (port.py) with an embedded adapter (a SQLite
log that survives restarts and is shared by the processes of one machine) and
a Pulsar adapter. Both are proven by the same contract suite."""
