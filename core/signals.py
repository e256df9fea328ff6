"""Signals between stages that must not import each other.

Each is sent inside the transaction that made the change; receivers run in it too.
"""

from django.dispatch import Signal

# An agent's correction changed a conversation's priority or intent (triage.record_feedback).
# Sent with conversation_id and at. SLA policies are chosen by both: sla moves the running
# clocks (sla.apps connects it).
conversation_retriaged = Signal()
